// Package etl runs the ETL: it reads a bulk-export folder, de-identifies each resource type's rows
// with the allow-list scrubber, and writes one table per task plus the job metadata and completion
// tables that Cumulus ETL writes.
package etl

import (
	"io"
	"time"

	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/store"
)

// Config is everything one ETL run needs. The CLI fills it from flags; tests fill it directly.
type Config struct {
	InputDir  string // a bulk-export folder
	OutputDir string // de-identified tables
	PHIDir    string // codebook and context: stays at the hospital
	// Storage configures s3:// locations (region, KMS key) for the stores of the four folders.
	Storage store.Options

	InputDescription string // what the user passed as INPUT (a URL for internal exports); defaults to InputDir

	Tasks                 []Task
	ExplicitTasks         bool // tasks came from --task: a missing resource is an error unless AllowMissingResources
	AllowMissingResources bool
	AllowExportErrors     bool // go on when the export's error/ files report fatal errors (else ErrExportReportedErrors)
	BatchSize             int
	OutputFormat          string // "deltalake" (the default), "parquet" or "ndjson"
	Comment               string
	ErrorsTo              string

	ExportGroup     string    // overrides the export log's group name
	ExportTimestamp time.Time // overrides the export log's transaction time
	ExportURL       string    // the export's kick-off URL, when known

	LockWait time.Duration // how long to wait for another run's lock on a table (see locks.go); 0 fails at once

	Workers int    // parallel de-identification workers; 0 means one per CPU
	TempDir string // where the run's scratch folder goes (spill files); "" means the system default

	Now     func() time.Time // injectable clock; nil means time.Now
	Version string           // etl_version in completion rows
	Stdout  io.Writer
	Stderr  io.Writer
	// Progress receives each task's live progress (rows and input bytes read); nil shows none.
	Progress progress.Reporter
}
