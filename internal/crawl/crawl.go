// Package crawl fakes a bulk export by searching each patient's resources with ordinary FHIR
// search (GET [base]/Type?patient=ID, following next links), for servers whose bulk export is
// slow, limited or refused (Epic). It writes the folder a bulk export writes (Type.NNN.ndjson,
// error/OperationOutcome.NNN.ndjson, log.ndjson with the request, transaction time and
// completion), so the ETL reads it unchanged.
//
// Patients are crawled in parallel within the FHIR client's adaptive limit (429 and Retry-After
// halve it), each worker into its own files, and made durable in batches recorded in a
// journal: kill the process at any moment and the same command goes on, without searching a
// finished patient again. Memory does not grow with the cohort: the cohort is a sorted file on
// disk (one bit per patient is held, for "done"), and resources that two patients' searches
// reach are sorted out on disk at the end.
package crawl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/store"
)

// Options configures one crawl. Fields without a comment saying otherwise are required.
type Options struct {
	Client  *fhir.Client
	Dir     string // the export folder; created if missing
	Request string // the request as a kick-off URL (bulk.KickoffURL): recorded in log and state; a rerun must ask the same
	Cohort  Cohort
	Types   []string // resource types; those no patient search reaches are left out, and said so
	Filters Filters  // per type, queries ORed (--type-filter, the default Observation filter)

	Elements       []string // _elements, optional
	Window         Window   // optional: only what changed (or was created) in it
	PreviousExport string   // optional: the earlier export Window.Since came from; patients not in its cohort get their whole history
	PageSize       int      // _count: 0 sized for the server, <0 never sent

	Concurrency    int // requests in flight to start with; default 8
	MaxConcurrency int // the most the adaptive limit grows to (and the number of workers); default 16

	Progress      progress.Reporter // nil shows nothing
	ClientVersion string
	Now           func() time.Time // nil: time.Now
}

// Result describes a crawl.
type Result struct {
	TransactionTime time.Time // when the first run began, or the newest lastUpdated seen if older (unfinished: when it began)
	ExportURL       string
	GroupName       string
	Patients        int // in the cohort
	Kept            int // of them, finished by an earlier run
	Failed          int // patients whose searches failed (listed in FailedList)
	Unresolved      int // identifiers that found no Patient (listed in failed-identifiers.tsv)
	FailedList      string
	Resources       int64
	Requests        int64
	Messages        []string // the servers' messages (search.mode=outcome), tallied without their text
}

// Errors the CLI maps to exit codes.
var (
	// ErrPatientsFailed: some patients' searches failed after retries; they are listed, and a
	// rerun of the same command searches them (only them) again.
	ErrPatientsFailed = errors.New("some patients could not be crawled")
	// ErrCrawlFailed: the crawl could not go on (every search failing, the folder unusable).
	ErrCrawlFailed = errors.New("crawl failed")
)

// run is one crawl in progress.
type run struct {
	opts     Options
	progress progress.Reporter
	now      func() time.Time
	crawlDir string
	plans    []typeSearch
	limit    *fhir.Limiter
	names    *namer
	journal  *journal
	commits  *committer

	requests, resources atomic.Int64
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.MaxConcurrency < o.Concurrency {
		o.MaxConcurrency = max(16, o.Concurrency)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientVersion == "" {
		o.ClientVersion = "dev"
	}
	return o
}

func (r *run) workers() int { return r.opts.MaxConcurrency }

// Crawl runs (or goes on with) the crawl into opts.Dir.
func Crawl(ctx context.Context, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if err := o.Cohort.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCrawlFailed, err)
	}
	r := &run{opts: o, progress: progress.Or(o.Progress), now: o.Now, crawlDir: filepath.Join(bulk.StateFolder(o.Dir), "crawl"),
		limit: fhir.NewLimiter(o.Concurrency, o.MaxConcurrency), names: &namer{next: map[string]int{}}}
	if err := os.MkdirAll(r.crawlDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", r.crawlDir, err)
	}
	pl, err := r.start()
	if err != nil {
		return nil, err
	}
	cohort, err := r.cohort(ctx)
	if err != nil {
		return nil, err
	}
	defer cohort.Close()
	previous, err := r.previousCohort(ctx, pl)
	if err != nil {
		return nil, err
	}
	if previous != nil {
		defer previous.Close()
	}
	return r.crawlCohort(ctx, pl, cohort, previous)
}

// crawlCohort searches the cohort's unfinished patients, then writes the strays and completes
// the folder.
func (r *run) crawlCohort(ctx context.Context, pl *plan, cohort, previous *sortedFile) (*Result, error) {
	res := &Result{ExportURL: r.opts.Request, GroupName: r.opts.Cohort.Name(), Patients: cohort.n}
	journalPath := filepath.Join(r.crawlDir, "journal.ndjson")
	st, err := loadJournal(journalPath, cohort.n)
	if err != nil {
		return nil, err
	}
	if err := reconcile(r.opts.Dir, st, r.names); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCrawlFailed, err)
	}
	res.Kept = st.doneCount
	caps := r.opts.Client.Capabilities()
	var skips []skipped
	r.plans, skips = planSearches(&r.opts, caps)
	for _, line := range describe(r.plans, skips) {
		r.progress.Info("  " + line)
	}
	if r.journal, err = openJournal(journalPath); err != nil {
		return nil, err
	}
	defer r.journal.close()
	failed, err := r.crawlPatients(ctx, cohort, previous, st)
	res.Requests = r.requests.Load()
	if err != nil {
		return res, err
	}
	res.Failed, res.FailedList = failed.count(), failed.path
	res.Unresolved = countUnresolved(filepath.Join(r.opts.Dir, unresolvedName))
	if res.Failed > 0 {
		res.TransactionTime, _ = time.Parse(time.RFC3339Nano, pl.Started) // what the data so far is as of
		return res, r.unfinished(pl, failed)
	}
	if !st.straysDone {
		if err := r.writeStrays(cohort); err != nil {
			return res, err
		}
	}
	return res, r.complete(pl, res)
}

// unfinished records that the crawl must be run again for its failed patients.
func (r *run) unfinished(pl *plan, failed *failureLog) error {
	why := fmt.Sprintf("%d patients failed: %s; listed in %s", failed.count(), failed.summary(), failed.path)
	if err := bulk.WriteFolderState(r.opts.Dir, bulk.FolderState{Mode: bulk.ModeCrawl, ExportURL: r.opts.Request,
		Unfinished: why}); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s; run the same command again to search them again", ErrPatientsFailed, why)
}

// complete writes the log's completion and the finished state, and tallies the servers'
// messages: fatal or error ones fail the export as a bulk export's error files do.
func (r *run) complete(pl *plan, res *Result) error {
	st, err := loadJournal(filepath.Join(r.crawlDir, "journal.ndjson"), res.Patients)
	if err != nil {
		return err
	}
	tx := pl.Started
	if st.maxUpdated != "" && st.maxUpdated < tx {
		tx = st.maxUpdated // the server's data is older than the crawl: a lagging copy, so ask again from there
	}
	res.TransactionTime, _ = time.Parse(time.RFC3339Nano, tx)
	res.Resources = st.resources
	files, bytes, errorFiles := dataFiles(st.sizes)
	if !pl.Logged {
		log := bulk.NewLog(r.opts.Dir, pl.ExportID, nil, r.opts.ClientVersion)
		if err := log.Complete(tx, files, st.resources, bytes); err != nil {
			return err
		}
		pl.Logged = true
		if err := r.savePlan(pl); err != nil {
			return err
		}
	}
	if err := bulk.WriteFolderState(r.opts.Dir, bulk.FolderState{Mode: bulk.ModeCrawl, ExportURL: r.opts.Request,
		Complete: true, TransactionTime: tx}); err != nil {
		return err
	}
	res.Messages, err = bulk.ServerMessages(r.opts.Dir, errorFiles)
	return err
}

// dataFiles counts the crawl's data files and bytes, and lists its error files.
func dataFiles(sizes map[string]int64) (files int, bytes int64, errorFiles []string) {
	for name, size := range sizes {
		kind, _, _ := parseDataName(name)
		if kind == kindStray || size == 0 {
			continue
		}
		files++
		bytes += size
		if kind == kindOutcome {
			errorFiles = append(errorFiles, name)
		}
	}
	return files, bytes, errorFiles
}

// plan is the crawl's request as its first run saved it (.cumulus-export/crawl/plan.json).
type plan struct {
	Request        string `json:"request"`
	Window         Window `json:"window"`
	PreviousExport string `json:"previousExport,omitempty"`
	Started        string `json:"started"`  // when the first run began: the transaction time
	ExportID       string `json:"exportId"` // names the export in log.ndjson
	Logged         bool   `json:"logged,omitempty"`
}

// start checks the folder holds nothing or this same crawl, and records the request on a first run.
func (r *run) start() (*plan, error) {
	st, err := bulk.ReadFolderState(r.opts.Dir)
	if err != nil {
		return nil, err
	}
	if st != nil && (st.Mode != bulk.ModeCrawl || st.ExportURL != r.opts.Request) {
		return nil, fmt.Errorf("%w: %s holds %s, not a crawl of %s; rerun that command to finish it, or use an empty folder",
			bulk.ErrOtherExport, r.opts.Dir, describeState(st), r.opts.Request)
	}
	path := filepath.Join(r.crawlDir, "plan.json")
	var pl plan
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &pl); err != nil {
			return nil, fmt.Errorf("%s is corrupt: %w", path, err)
		}
		if pl.Window != r.opts.Window || pl.PreviousExport != r.opts.PreviousExport {
			return nil, fmt.Errorf("%w: %s holds a crawl of %s with another time window (%+v); rerun it as it was, or use an empty folder",
				bulk.ErrOtherExport, r.opts.Dir, pl.Request, pl.Window)
		}
		r.progress.Info("Going on with the crawl in " + r.opts.Dir)
		return &pl, nil
	}
	pl = plan{Request: r.opts.Request, Window: r.opts.Window, PreviousExport: r.opts.PreviousExport,
		Started: r.now().UTC().Format(instantLayout), ExportID: "crawl:" + r.now().UTC().Format(instantLayout)}
	caps := r.opts.Client.Capabilities()
	log := bulk.NewLog(r.opts.Dir, pl.ExportID, nil, r.opts.ClientVersion)
	if err := log.Kickoff(r.opts.Request, bulk.Software{FHIRVersion: caps.FHIRVersion, Name: caps.SoftwareName,
		Version: caps.SoftwareVersion, ReleaseDate: caps.SoftwareReleaseDate}); err != nil {
		return nil, err
	}
	if err := bulk.WriteFolderState(r.opts.Dir, bulk.FolderState{Mode: bulk.ModeCrawl, ExportURL: r.opts.Request,
		Unfinished: "the crawl was interrupted"}); err != nil {
		return nil, err
	}
	r.progress.Info("Starting a crawl into " + r.opts.Dir)
	return &pl, r.savePlan(&pl)
}

func (r *run) savePlan(pl *plan) error {
	b, err := json.MarshalIndent(pl, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(r.crawlDir, "plan.json"), b, 0o600)
}

func describeState(st *bulk.FolderState) string {
	if st.Mode == "" {
		return "a bulk export of " + st.ExportURL
	}
	return "a " + st.Mode + " of " + st.ExportURL
}
