// Package bulk runs FHIR Bulk Data exports: kick-off, status polling, manifests, parallel
// streaming downloads with an adaptive per-host concurrency limit, a crash-safe resume journal,
// and the bulk-data-client style log.ndjson.
package bulk

import (
	"errors"
	"net/http"
	"time"

	"cumulus-etl/internal/progress"
)

// Doer sends one HTTP request. *fhir.Client (which adds SMART auth) and *http.Client satisfy it.
// Requests carry fhir.NoRetry when this package runs its own wait loop, and fhir.NoCredentials
// when a manifest says requiresAccessToken: false.
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Options configures one export. The zero value of every optional field picks a sensible default.
type Options struct {
	URL         string   // FHIR base, .../Patient or .../Group/ID, with or without $export and a query
	Dir         string   // destination folder; created if missing
	Types       []string // _type values, merged with any _type already in URL
	TypeFilters []string // _typeFilter values, merged with any already in URL
	Since       string   // _since (FHIR instant), overrides the URL's
	Until       string   // _until (FHIR instant), overrides the URL's
	Elements    []string // _elements values
	Patients    []string // patient references (forces a POST kick-off)
	Post        bool     // kick off with POST and a Parameters body
	Resume      string   // status URL of an export already started; skips the kick-off

	MaxPollInterval  time.Duration // cap on 202 waits (a 429's Retry-After is honoured whole); default 5 min
	Timeout          time.Duration // total time limit for the export; default 30 days
	PartialManifests bool          // send allowPartialManifests=true and download files listed by 202s

	Progress progress.Reporter // where messages and download progress go; nil shows nothing

	Concurrency    int   // starting downloads per host; default DefaultConcurrency
	MaxConcurrency int   // ceiling the adaptive limit may grow to; default DefaultMaxConcurrency
	MaxLineBytes   int64 // longest ndjson line accepted; default 1 GiB
	MaxAttempts    int   // tries per request for transient failures (5xx, resets); default 6
	ClientVersion  string

	Clock Clock // time source and sleeper; nil means the wall clock
}

// Result describes a finished export.
type Result struct {
	TransactionTime time.Time // zero if the server sent none or an unparseable one
	ExportURL       string    // the kick-off URL (or the resumed status URL's original kick-off URL)
	StatusURL       string
	GroupName       string   // Group id from the URL, "" for system or Patient exports
	Files           int      // files in DIR (output, error and deleted), kept ones included
	Resources       int64    // ndjson lines in those files
	Bytes           int64    // decoded bytes of those files
	KeptFiles       int      // of Files, those kept from an earlier run rather than downloaded now
	KeptBytes       int64    // their bytes
	Messages        []string // non-fatal OperationOutcome messages from the server
}

// Defaults for Options fields left zero.
const (
	DefaultMaxPollInterval = 5 * time.Minute
	DefaultTimeout         = 30 * 24 * time.Hour
	DefaultConcurrency     = 8
	DefaultMaxConcurrency  = 16
	DefaultMaxLineBytes    = 1 << 30
	DefaultMaxAttempts     = 6
)

// ErrServerReportedErrors is returned (wrapped, with the messages) after every file has been
// downloaded when the export's OperationOutcome files hold fatal or error issues.
var ErrServerReportedErrors = errors.New("errors occurred during export")

// ErrExportFailed wraps every other failure of the export protocol (unexpected status codes,
// time-outs, expired links that could not be refreshed, invalid files).
var ErrExportFailed = errors.New("bulk export failed")

// ErrOtherExport means the folder holds an export of another request (another Group, _type or
// _since): resuming it would silently return the wrong data.
var ErrOtherExport = errors.New("the folder holds another export")

// ErrNoExportToCancel is returned by Cancel when neither a status URL nor a saved export exists.
var ErrNoExportToCancel = errors.New("no export to cancel: pass --resume URL or a folder holding a started export")

func (o *Options) withDefaults() Options {
	c := *o
	if c.MaxPollInterval <= 0 {
		c.MaxPollInterval = DefaultMaxPollInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxConcurrency < c.Concurrency {
		c.MaxConcurrency = max(DefaultMaxConcurrency, c.Concurrency)
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Clock == nil {
		c.Clock = WallClock{}
	}
	if c.ClientVersion == "" {
		c.ClientVersion = "dev"
	}
	return c
}
