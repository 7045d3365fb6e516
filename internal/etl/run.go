package etl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"cumulus-etl/internal/deid"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/outcome"
	"cumulus-etl/internal/scratch"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
)

// Sentinel errors the CLI maps to exit codes.
var (
	// ErrCompletionInfoMissing: no export group and time from the export log or the flags.
	ErrCompletionInfoMissing = errors.New("cannot tell which export this data came from")
	// ErrMissingResources: an explicitly requested task has no input.
	ErrMissingResources = errors.New("the input has no data for a requested task")
	// ErrNoTasks: nothing to do.
	ErrNoTasks = errors.New("no tasks left to run")
	// ErrExportReportedErrors: the export's error/ files report fatal errors, so data may be missing.
	ErrExportReportedErrors = errors.New("the export's error files report errors, so data may be missing from it")
	// ErrTasksFailed: the run finished but some rows were rejected or some files unreadable.
	ErrTasksFailed = errors.New("one or more tasks did not 100% complete (see the messages above and the " +
		"rejected column; --errors-to DIR keeps every rejected row)")
)

// Report is the outcome of a run, for the CLI to print.
type Report struct {
	JobDir            string
	Summaries         []*TaskSummary
	NoTask            map[string]string // resource types in the input that no task reads: "N files (size)"
	Unknown           []error           // input files whose resource type could not be told: left out
	NotRead           []string          // other input files not read, each "path: why" (JSON files, links to nothing)
	UnknownExtensions map[string]int    // extension URL → times dropped
	// DroppedValues counts, per "Type.field: reason", values dropped or masked because they could
	// not be de-identified (a birth date that is not a date, a postal code that is not a US ZIP).
	DroppedValues map[string]int
	// SkippedModifierExtensions counts, per unknown modifierExtension URL, the resources skipped for it.
	SkippedModifierExtensions map[string]int
	// Outcomes tallies the issues of the export's error/ files (no free text: it can hold PHI).
	Outcomes *outcome.Summary
}

// job is the state shared by the tasks of one run.
type job struct {
	cfg      Config
	stores   stores
	locks    *runLocks
	scratch  *scratch.Dir // spill files
	scrubber *deid.Scrubber
	codebook *deid.Codebook
	format   tables.Format
}

// Preflight checks what Run would refuse at its start, for callers about to do slow work first
// (a bulk export can take days): an OUTPUT written with another PHI folder's codebook.
func Preflight(ctx context.Context, cfg Config) error {
	st, err := openStores(ctx, cfg, false)
	if err != nil {
		return err
	}
	if err := preflightCodebook(ctx, st); err != nil {
		return err
	}
	cfg = withDefaults(cfg)
	format, err := newFormat(cfg, st.out)
	if err != nil {
		return err
	}
	return checkTables(ctx, format, cfg.Tasks)
}

// preflightCodebook checks OUTPUT's codebook id against PHI's codebook without taking a lock.
// With no codebook stored yet, the one drawn here may lose to a first run that stores its own and
// then starts a job in OUTPUT (in that order, see setUpCodebook) between our two reads: so on a
// mismatch PHI is read once more, and only a mismatch with a stored codebook refuses the run.
func preflightCodebook(ctx context.Context, st stores) error {
	cb, err := loadCodebook(ctx, st.phi)
	if err != nil {
		return err
	}
	err = checkCodebookID(ctx, st.out, cb.cb.ID())
	if cb.stored || !errors.Is(err, ErrWrongPHIFolder) {
		return err
	}
	if cb, err = loadCodebook(ctx, st.phi); err != nil {
		return err
	}
	return checkCodebookID(ctx, st.out, cb.cb.ID())
}

// Run executes the ETL. It returns a Report even on ErrTasksFailed, so the CLI can show what worked.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = withDefaults(cfg)
	start := cfg.Now().UTC()
	st, err := openStores(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	in, err := readInput(ctx, cfg, st.in, start)
	if err != nil {
		return nil, err
	}
	tmp, err := scratch.New(cfg.TempDir)
	if err != nil {
		return nil, err
	}
	defer tmp.Remove()

	ctx, locks := newRunLocks(ctx, cfg.LockWait)
	defer locks.releaseAll()
	report, err := runLocked(ctx, cfg, st, in, &job{cfg: cfg, stores: st, locks: locks, scratch: tmp})
	if cause := context.Cause(ctx); errors.Is(cause, store.ErrLockLost) {
		return report, fmt.Errorf("%w\nThe run stopped; tables it had not published keep their previous version", cause)
	}
	return report, err
}

// runInput is what Run reads from INPUT before writing anything.
type runInput struct {
	start    time.Time
	exp      *input.Export
	info     completionInfo
	tasks    []Task
	outcomes *outcome.Summary
	deleted  map[string]map[string]struct{}
}

func readInput(ctx context.Context, cfg Config, in store.Store, start time.Time) (*runInput, error) {
	exp, err := input.Scan(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("reading input folder: %w", err)
	}
	r := &runInput{start: start, exp: exp}
	if r.info, err = exportInfo(cfg, exp); err != nil {
		return nil, err
	}
	r.info.exportURL = redactExportURL(r.info.exportURL)
	r.info.etlTime, r.info.version = isoTime(start), cfg.Version
	if r.deleted, err = input.ReadDeleted(ctx, exp.Deleted); err != nil {
		return nil, fmt.Errorf("%w\nNothing was written: applying only some of the deletions would publish rows "+
			"the export says are deleted", err)
	}
	if r.tasks, err = tasksWithInput(cfg, exp, r.deleted); err != nil {
		return nil, err
	}
	if r.outcomes, err = exportOutcomes(ctx, cfg, exp); err != nil {
		return nil, err
	}
	return r, nil
}

// runLocked writes the tables under the run's locks (see locks.go).
func runLocked(ctx context.Context, cfg Config, st stores, in *runInput, j *job) (*Report, error) {
	var err error
	if j.format, err = newFormat(cfg, st.out); err != nil {
		return nil, err
	}
	if err := j.locks.takeTables(ctx, st.out, in.tasks); err != nil {
		return nil, err
	}
	if err := checkForeignFiles(ctx, j.format, tableNames(in.tasks)); err != nil {
		return nil, err
	}
	if err := checkTables(ctx, j.format, in.tasks); err != nil {
		return nil, err
	}
	var jobDir string
	err = j.locks.brief(ctx, st.out, outputLock, "etl: checking the codebook and starting a job", func() error {
		cb, err := setUpCodebook(ctx, st, j.locks)
		if err != nil {
			return err
		}
		if j.scrubber, err = deid.NewScrubber(cb); err != nil {
			return err
		}
		j.codebook = cb
		jobDir, err = createJobConfig(ctx, st.out, in.start.Format("2006-01-02__15.04.05"), j.jobConfig(in.tasks, in.info))
		return err
	})
	if err != nil {
		return nil, err
	}
	report := &Report{NoTask: filesWithoutTask(in.exp), Unknown: in.exp.Unknown, NotRead: in.exp.NotRead,
		Outcomes: in.outcomes, JobDir: st.out.Location(jobDir)}
	for _, err := range in.exp.Unknown {
		fmt.Fprintf(cfg.Stderr, "  left out: %v\n", err)
	}

	failed := false
	var complete []string // tables written without a rejected row: only they get a completion row
	for _, t := range in.tasks {
		taskStart := time.Now()
		fmt.Fprintf(cfg.Stdout, "%s: reading %s\n", t.Name, describeFiles(in.exp.Resources[t.Resource]))
		summary, err := j.runTask(ctx, t, in.exp.Resources[t.Resource], j.fakeIDs(t.Resource, in.deleted[t.Resource]), in.info)
		report.Summaries = append(report.Summaries, summary)
		if err != nil {
			if ctx.Err() != nil {
				return report, ctx.Err()
			}
			summary.HadErrors = true
			summary.Errors = append(summary.Errors, err.Error())
			fmt.Fprintf(cfg.Stderr, "  %s: %v\n", t.Name, err)
		} else if !summary.HadErrors {
			complete = append(complete, t.Name)
		}
		fmt.Fprintf(cfg.Stdout, "%s: %d row%s written in %s\n", t.Name, summary.Written, plural(summary.Written), time.Since(taskStart).Round(time.Millisecond))
		failed = failed || summary.HadErrors
		if err := writeJSONFile(ctx, st.out, path.Join(jobDir, t.Name+".json"), summary, store.CreateOptions{}); err != nil {
			return report, err
		}
	}
	err = j.locks.brief(ctx, st.out, outputLock, "etl: updating "+completionTable, func() error {
		return writeCompletion(ctx, j.format, j.locks.check, in.info, complete)
	})
	if err != nil {
		return report, err
	}
	report.UnknownExtensions = j.scrubber.UnknownExtensions()
	report.DroppedValues = j.scrubber.DroppedValues()
	report.SkippedModifierExtensions = j.scrubber.SkippedModifierExtensions()
	if failed || len(in.exp.Unknown) > 0 {
		return report, ErrTasksFailed
	}
	return report, j.locks.brief(ctx, st.phi, phiLock, "etl: updating "+contextFile, func() error {
		return saveContext(ctx, st.phi, jobContext{
			LastSuccessfulDatetime:  in.start.Format("2006-01-02T15:04:05.000000-07:00"),
			LastSuccessfulInputDir:  cfg.InputDescription,
			LastSuccessfulOutputDir: cfg.OutputDir,
		})
	})
}

// tableNames lists the tables the tasks write, the completion tables included.
func tableNames(tasks []Task) []string {
	names := []string{completionTable}
	for _, t := range tasks {
		names = append(names, t.Name)
		if t.Name == "encounter" {
			names = append(names, completionEncountersTable)
		}
	}
	return names
}

func withDefaults(cfg Config) Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.OutputFormat == "" {
		cfg.OutputFormat = OutputFormats[0]
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100000
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.InputDescription == "" {
		cfg.InputDescription = cfg.InputDir
	}
	if cfg.Tasks == nil {
		cfg.Tasks = AllTasks()
	}
	return cfg
}

// exportInfo finds the export group and time: flags win over the export log.
func exportInfo(cfg Config, exp *input.Export) (completionInfo, error) {
	info := completionInfo{group: cfg.ExportGroup, exportURL: cfg.ExportURL}
	if !cfg.ExportTimestamp.IsZero() {
		info.exportTime = isoTime(cfg.ExportTimestamp)
	}
	if exp.Log != nil {
		if cfg.ExportGroup == "" {
			info.group = exp.Log.GroupName
		}
		if info.exportTime == "" {
			info.exportTime = isoTime(exp.Log.TransactionTime)
		}
		if info.exportURL == "" {
			info.exportURL = exp.Log.ExportURL
		}
		return info, nil
	}
	if cfg.ExportGroup == "" || cfg.ExportTimestamp.IsZero() {
		why := "the input folder has no export log"
		if exp.LogErr != nil {
			why = exp.LogErr.Error()
		}
		return info, fmt.Errorf("%w: %s; pass --export-group and --export-timestamp "+
			"(the Group id and transaction time of the bulk export)", ErrCompletionInfoMissing, why)
	}
	return info, nil
}

// exportOutcomes reads the export's error/ files. Fatal or error issues mean the export failed,
// as for the export command (exit 16), so nothing is written unless AllowExportErrors.
func exportOutcomes(ctx context.Context, cfg Config, exp *input.Export) (*outcome.Summary, error) {
	sum, err := input.ReadOutcomes(ctx, exp.Errors)
	if err != nil {
		return nil, fmt.Errorf("reading the export's error files: %w", err)
	}
	fatal, _ := sum.Groups()
	if len(fatal) == 0 || cfg.AllowExportErrors {
		return sum, nil
	}
	var b strings.Builder
	for _, g := range fatal {
		fmt.Fprintf(&b, "\n - %s", g)
	}
	return nil, fmt.Errorf("%w:%s\n%s Nothing was written; to use the export anyway, pass --allow-export-errors",
		ErrExportReportedErrors, b.String(), outcome.TextWithheld("those files"))
}

// tasksWithInput drops default tasks whose resource type is absent; an explicitly requested task
// without input is an error unless AllowMissingResources. A type the export's deleted/ files
// name is input even without a file of its own (an export --since in which some were deleted and
// none changed): its task runs to take those rows out.
func tasksWithInput(cfg Config, exp *input.Export, deleted map[string]map[string]struct{}) ([]Task, error) {
	var out []Task
	var missing []string
	for _, t := range cfg.Tasks {
		switch {
		case len(exp.Resources[t.Resource]) > 0, len(deleted[t.Resource]) > 0, cfg.ExplicitTasks && cfg.AllowMissingResources:
			out = append(out, t)
		case cfg.ExplicitTasks:
			missing = append(missing, t.Resource)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: no %v files in %s (use --allow-missing-resources to write empty tables)",
			ErrMissingResources, missing, cfg.InputDir)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the input folder %s has no files for any selected task", ErrNoTasks, cfg.InputDir)
	}
	return out, nil
}

func (j *job) fakeIDs(resourceType string, ids map[string]struct{}) map[string]struct{} {
	out := make(map[string]struct{}, len(ids))
	for id := range ids {
		out[j.codebook.FakeID(resourceType, id)] = struct{}{}
	}
	return out
}

func (j *job) jobConfig(tasks []Task, info completionInfo) jobConfig {
	return jobConfig{
		DirInput: describeInput(j.cfg.InputDescription), DirOutput: j.cfg.OutputDir, DirPHI: j.cfg.PHIDir,
		InputFormat: "ndjson", OutputFormat: j.format.Name(),
		Comment: j.cfg.Comment, BatchSize: j.cfg.BatchSize, Tasks: taskNames(tasks),
		ExportGroupName: info.group, ExportTimestamp: info.exportTime, ExportURL: info.exportURL,
		CodebookID: j.codebook.ID(),
	}
}

// runTask runs one task; the encounter task also refreshes etl__completion_encounters.
func (j *job) runTask(ctx context.Context, t Task, files []input.File, deleted map[string]struct{}, info completionInfo) (*TaskSummary, error) {
	hostname, _ := os.Hostname()
	summary := &TaskSummary{Label: t.Name, Hostname: hostname}
	rejects := newRejectLog(ctx, j.stores.errorsTo, t.Name)
	run := &taskRun{job: j, task: t, files: files, deleted: deleted, summary: summary, rejected: rejects}

	var enc *encounterCompletion
	if t.Name == "encounter" {
		var err error
		if enc, err = newEncounterCompletion(j.scratch, info); err != nil {
			return summary, err
		}
		defer enc.close()
		run.onRow = enc.add
		// Written before the encounter table is swapped in, as Cumulus ETL does, so no encounter
		// is ever visible without its completion row.
		run.beforeCommit = func() error { return enc.write(ctx, j.format, j.locks.check) }
	}
	err := run.run(ctx)
	if cerr := rejects.close(); err == nil {
		err = cerr
	}
	summary.Timestamp = j.cfg.Now().UTC().Format("2006-01-02 15:04:05")
	summary.SuccessRate = 1
	if summary.Attempt > 0 {
		summary.SuccessRate = float64(summary.Success) / float64(summary.Attempt)
	}
	return summary, err
}
