package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/outcome"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
)

// etlFlags holds the etl subcommand's flags before they become an etl.Config.
type etlFlags struct {
	inputFormat, outputFormat string
	batchSize                 int
	comment, errorsTo         string
	tasks                     []string
	allowMissing, allowErrors bool
	exportGroup, exportTime   string
	workers                   int
	lockWait                  time.Duration
	s3Region, s3KMSKey        string

	exportTo string       // where an internal export's files go (kept); default a private temp folder
	export   exportConfig // bulk export flags, for a URL INPUT
}

// newETLCmd builds the default "etl" subcommand.
func newETLCmd() *cobra.Command {
	var f etlFlags
	cmd := &cobra.Command{
		Use:   "etl [OPTION]... INPUT OUTPUT PHI",
		Short: "Extract, de-identify and write tables (the default command)",
		Long: `Reads a bulk FHIR export, de-identifies it and writes one table per resource type.

INPUT   a folder (or s3://BUCKET/PREFIX) holding a bulk FHIR export (ndjson, optionally gzipped, made by any bulk export tool),
        or a FHIR server URL (https://host/fhir, .../Group/ID or .../Patient) to export from on the fly
OUTPUT  where the de-identified tables go; this folder may leave the hospital
PHI     where the codebook and other secrets go; this folder must stay at the hospital

Other commands: export, inline, hydrate, keygen, version (see cumulus-etl COMMAND --help).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if isTaskHelp(f.tasks) {
				return nil // --task help needs no folders
			}
			return exactArgs(3)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runETL(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.inputFormat, "input-format", "ndjson", "input format: ndjson")
	fl.StringVar(&f.outputFormat, "output-format", "deltalake", "output format: deltalake, parquet or ndjson")
	fl.IntVar(&f.batchSize, "batch-size", 100000, "rows per output file")
	fl.StringArrayVar(&f.tasks, "task", nil, "only run these tasks (repeatable, or comma separated; 'help' lists them)")
	fl.BoolVar(&f.allowMissing, "allow-missing-resources", false, "write empty tables for requested tasks that have no input")
	fl.BoolVar(&f.allowErrors, "allow-export-errors", false, "go on when the export's error files report errors (exit 16 otherwise): some data may be missing")
	fl.StringVar(&f.errorsTo, "errors-to", "", "keep every rejected input row in this folder (it holds PHI: keep it with the PHI folder)")
	fl.StringVar(&f.comment, "comment", "", "a note to record in the job config")
	fl.StringVar(&f.exportGroup, "export-group", "", "the export's Group id, when the input has no export log")
	fl.StringVar(&f.exportTime, "export-timestamp", "", "the export's transaction time (ISO 8601), when the input has no export log")
	fl.IntVar(&f.workers, "workers", 0, "parallel de-identification workers (default: one per CPU)")
	fl.StringVar(&f.s3Region, "s3-region", "", "AWS region of s3:// folders (default: from the AWS configuration, else us-east-1)")
	fl.StringVar(&f.s3KMSKey, "s3-kms-key", "", "encrypt what is written to s3:// folders with this KMS key (SSE-KMS): a key id, ARN or alias")
	fl.DurationVar(&f.lockWait, "lock-wait", 0, "wait this long (e.g. 30m) for another run writing the same tables to finish, instead of failing at once (exit 60)")
	fl.StringVar(&f.exportTo, "export-to", "", "with a URL INPUT: keep the exported files in this local folder (default: a private temporary folder, deleted afterwards)")
	addExportFlags(fl, &f.export)
	addFHIRURLFlag(fl, &f.export.fhirURL)
	addAuthFlags(fl, &f.export.auth)
	setGroupedHelp(cmd, []flagGroup{
		{"Tasks and output", []string{"task", "allow-missing-resources", "output-format", "batch-size", "errors-to", "comment", "lock-wait"}},
		{"S3 storage (s3://BUCKET/PREFIX for INPUT, OUTPUT, PHI or --errors-to)", []string{"s3-region", "s3-kms-key"}},
		{"Input", []string{"allow-export-errors", "input-format", "export-group", "export-timestamp", "workers"}},
		{"Bulk export (when INPUT is a FHIR server URL)", exportFlagNames},
		{"Crawl (search each patient's resources) and incremental exports", crawlFlagNames},
		{"Authentication with the FHIR server", append([]string{"fhir-url"}, authFlagNames...)},
	})
	return cmd
}

func runETL(cmd *cobra.Command, f etlFlags, args []string) error {
	if isTaskHelp(f.tasks) {
		fmt.Fprint(cmd.OutOrStdout(), etl.TaskHelp())
		return nil
	}
	cfg, err := f.config(args, cmd.Flags().Changed("fhir-url"))
	if err != nil {
		return err
	}
	cfg.Stdout, cfg.Stderr, cfg.Version = cmd.OutOrStdout(), cmd.ErrOrStderr(), Version
	warnOpenPHIFolder(cfg.Stderr, cfg.PHIDir)
	if err := etl.Preflight(cmd.Context(), cfg); err != nil {
		return etlExit(err)
	}
	if !isURL(args[0]) && !store.IsRemote(args[0]) { // (an unfinished export stays in a local DIR)
		if err := bulk.CheckFinished(cfg.InputDir); err != nil {
			return &ExitError{Code: ExitBulkExportFailed, Err: err}
		}
		if f.export.fhirURL != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "Note: --fhir-url is not used: the ETL downloads nothing for a folder INPUT "+
				"(to download its notes, run `cumulus-etl inline INPUT --fhir-url URL` first)")
		}
	}
	if isURL(args[0]) {
		cleanup, err := exportInput(cmd.Context(), cmd.ErrOrStderr(), f, &cfg)
		defer cleanup()
		if err != nil {
			return err
		}
	}
	printConfig(cfg.Stdout, cfg)
	stdout := cfg.Stdout
	display, out, errOut := etlDisplay(cfg.Stdout, cfg.Stderr)
	cfg.Stdout, cfg.Stderr, cfg.Progress = out, errOut, display
	if cfg.OutputFormat != "ndjson" && os.Getenv("GOGC") == "" {
		// Shredding rows into columns makes many short-lived values: a higher GC target trades
		// some heap (peak RSS stays far under 500 MB) for about a fifth of the CPU (README).
		debug.SetGCPercent(300)
	}
	report, err := etl.Run(cmd.Context(), cfg)
	display.Close()
	if report != nil {
		printReport(stdout, report)
	}
	return etlExit(err)
}

// config validates the flags and builds the run's configuration.
// fhirURLGiven says --fhir-url was given: the authentication flags then serve it, also with a
// folder INPUT.
func (f etlFlags) config(args []string, fhirURLGiven bool) (etl.Config, error) {
	cfg := etl.Config{InputDir: args[0], OutputDir: args[1], PHIDir: args[2],
		BatchSize: f.batchSize, Comment: f.comment, ErrorsTo: f.errorsTo,
		ExportGroup: f.exportGroup, AllowMissingResources: f.allowMissing, AllowExportErrors: f.allowErrors, Workers: f.workers,
		LockWait: f.lockWait}
	if f.inputFormat != "ndjson" {
		return cfg, exitf(ExitArgsInvalid, "--input-format %q is not supported (use ndjson)", f.inputFormat)
	}
	if !slices.Contains(etl.OutputFormats, f.outputFormat) {
		return cfg, exitf(ExitArgsInvalid, "--output-format %q is not one of %s", f.outputFormat, strings.Join(etl.OutputFormats, ", "))
	}
	cfg.OutputFormat = f.outputFormat
	if f.batchSize <= 0 {
		return cfg, exitf(ExitArgsInvalid, "--batch-size must be a positive number")
	}
	for name, path := range map[string]string{"INPUT": cfg.InputDir, "OUTPUT": cfg.OutputDir, "PHI": cfg.PHIDir, "--errors-to": f.errorsTo} {
		if scheme, _, found := strings.Cut(path, "://"); found && scheme != "s3" && !(name == "INPUT" && isURL(path)) {
			return cfg, exitf(ExitArgsInvalid, "%s %s: %s:// storage is not supported; use a local folder or s3://BUCKET/PREFIX", name, path, scheme)
		}
	}
	cfg.Storage = store.Options{S3Region: f.s3Region, S3KMSKey: f.s3KMSKey}
	if err := f.export.validate(); err != nil {
		return cfg, err
	}
	if !isURL(cfg.InputDir) && f.usesExportFlags() {
		return cfg, exitf(ExitArgsConflict, "you provided FHIR bulk export options (--export-to, --since, --until, ...) "+
			"but INPUT is a folder, not a FHIR server URL")
	}
	if !isURL(cfg.InputDir) && f.export.auth != (fhir.AuthConfig{}) && !fhirURLGiven {
		return cfg, exitf(ExitArgsConflict, "you provided FHIR server authentication options (--smart-client-id, "+
			"--bearer-token, ...) but INPUT is a folder, not a FHIR server URL")
	}
	if f.lockWait < 0 {
		return cfg, exitf(ExitArgsInvalid, "--lock-wait must not be negative")
	}
	if f.workers < 0 {
		return cfg, exitf(ExitArgsInvalid, "--workers must be 0 (one per CPU) or more")
	}
	if err := f.checkFolders(cfg); err != nil {
		return cfg, err
	}
	if f.exportTime != "" {
		t, err := parseTimestamp(f.exportTime)
		if err != nil {
			return cfg, exitf(ExitArgsInvalid, "--export-timestamp: %v", err)
		}
		cfg.ExportTimestamp = t
	}
	tasks, err := etl.SelectTasks(f.tasks)
	if err != nil {
		return cfg, &ExitError{Code: ExitTaskUnknown, Err: err}
	}
	cfg.Tasks, cfg.ExplicitTasks = tasks, len(f.tasks) > 0
	return cfg, nil
}

// checkFolders checks the local folders: INPUT is a folder, and no folder is inside another
// where that would leak PHI or feed the tables back as input.
func (f etlFlags) checkFolders(cfg etl.Config) error {
	input, inputName := cfg.InputDir, "INPUT"
	if isURL(input) {
		input, inputName = f.exportTo, "--export-to"
	} else if !store.IsRemote(input) {
		if err := checkInputFolder(input); err != nil {
			return err
		}
	}
	return checkNesting(input, inputName, cfg.OutputDir, map[string]string{"PHI": cfg.PHIDir, "--errors-to": f.errorsTo, "--export-to": f.exportTo})
}

// usesExportFlags reports whether any option that only makes sense for a URL INPUT was given.
func (f etlFlags) usesExportFlags() bool {
	e := f.export
	return f.exportTo != "" || e.since != "" || e.until != "" || e.resume != "" || len(e.typeFilters) > 0 ||
		len(e.elements) > 0 || len(e.patients) > 0 || e.post || e.partial
}

func isTaskHelp(tasks []string) bool {
	for _, t := range tasks {
		if strings.TrimSpace(strings.ToLower(t)) == "help" {
			return true
		}
	}
	return false
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// parseTimestamp accepts the ISO 8601 forms a user is likely to type.
func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time such as 2024-05-01T12:00:00Z", s)
}

// etlExit maps the ETL's sentinel errors to Cumulus ETL's exit codes.
func etlExit(err error) error {
	if err == nil {
		return nil
	}
	codes := []struct {
		target error
		code   int
	}{
		{etl.ErrTasksFailed, ExitTaskFailed},
		{input.ErrBadDeletions, ExitTaskFailed},
		{etl.ErrExportReportedErrors, ExitBulkExportFailed},
		{etl.ErrWrongPHIFolder, ExitWrongPHIFolder},
		{tables.ErrUnsupportedTable, ExitTableUnsupported},
		{etl.ErrCompletionInfoMissing, ExitCompletionArgsMissing},
		{etl.ErrMissingResources, ExitMissingRequestedResource},
		{etl.ErrNoTasks, ExitTaskSetEmpty},
		{etl.ErrUnknownTask, ExitTaskUnknown},
		{store.ErrLocked, ExitLocked},
		{store.ErrAccess, ExitStorageFailed},
		{store.ErrUnreachable, ExitStorageFailed},
		{store.ErrLockLost, ExitLockLost},
		{etl.ErrForeignFiles, ExitForeignFiles},
	}
	for _, c := range codes {
		if errors.Is(err, c.target) {
			return &ExitError{Code: c.code, Err: err}
		}
	}
	return err
}

func printConfig(w io.Writer, cfg etl.Config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if cfg.InputDescription != "" && cfg.InputDescription != cfg.InputDir {
		fmt.Fprintf(tw, "Input:\t%s (exported to %s)\n", cfg.InputDescription, cfg.InputDir)
	} else {
		fmt.Fprintf(tw, "Input:\t%s\n", cfg.InputDir)
	}
	fmt.Fprintf(tw, "Output:\t%s (%s)\n", cfg.OutputDir, cfg.OutputFormat)
	fmt.Fprintf(tw, "PHI:\t%s\n", cfg.PHIDir)
	fmt.Fprintf(tw, "Batch size:\t%d\n", cfg.BatchSize)
	if cfg.Comment != "" {
		fmt.Fprintf(tw, "Comment:\t%s\n", cfg.Comment)
	}
	tw.Flush()
}

// printReport shows the per-table summary and anything the user should look at.
func printReport(w io.Writer, r *etl.Report) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tread\twritten\trejected\tskipped\tduplicates\tdeleted\t")
	for _, s := range r.Summaries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", s.Label, s.Attempt, s.Written, s.Rejected, s.Skipped, s.Duplicates, s.Deleted)
	}
	tw.Flush()
	if len(r.NoTask) > 0 {
		var parts []string
		for _, rt := range slices.Sorted(maps.Keys(r.NoTask)) {
			parts = append(parts, fmt.Sprintf("%s: %s", rt, r.NoTask[rt]))
		}
		fmt.Fprintf(w, "\nNot processed (no task reads these types): %s\n", strings.Join(parts, "; "))
	}
	if len(r.SkippedModifierExtensions) > 0 {
		fmt.Fprintln(w, "\nSkipped resources (an unknown modifierExtension changes their meaning):")
		for _, url := range slices.Sorted(maps.Keys(r.SkippedModifierExtensions)) {
			fmt.Fprintf(w, "  %s (%d)\n", url, r.SkippedModifierExtensions[url])
		}
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(w, "\nLeft out (resource type unknown): %d file(s); see the messages above\n", len(r.Unknown))
	}
	if len(r.NotRead) > 0 {
		fmt.Fprintln(w, "\nNot read:")
		for _, why := range r.NotRead {
			fmt.Fprintf(w, "  %s\n", why)
		}
	}
	if len(r.UnknownExtensions) > 0 {
		fmt.Fprintln(w, "\nUnknown extensions (dropped with all they held):")
		for _, url := range slices.Sorted(maps.Keys(r.UnknownExtensions)) {
			fmt.Fprintf(w, "  %s (%d)\n", url, r.UnknownExtensions[url])
		}
	}
	if len(r.DroppedValues) > 0 {
		fmt.Fprintln(w, "\nValues dropped because they could not be de-identified:")
		for _, field := range slices.Sorted(maps.Keys(r.DroppedValues)) {
			fmt.Fprintf(w, "  %s (%d)\n", field, r.DroppedValues[field])
		}
	}
	if fatal, other := r.Outcomes.Groups(); len(fatal)+len(other) > 0 {
		fmt.Fprintln(w, "\nMessages from the export's error files:")
		for _, g := range append(fatal, other...) {
			fmt.Fprintf(w, "  %s\n", g)
		}
		fmt.Fprintf(w, "  %s\n", outcome.TextWithheld("those files"))
		if len(fatal) > 0 {
			fmt.Fprintln(w, "  The export reported errors (--allow-export-errors): some data may be missing from it.")
		}
	}
	fmt.Fprintf(w, "\nJob details: %s\n", r.JobDir)
}
