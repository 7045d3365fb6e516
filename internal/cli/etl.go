package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/etl"
)

// etlFlags holds the etl subcommand's flags before they become an etl.Config.
type etlFlags struct {
	inputFormat, outputFormat string
	batchSize                 int
	comment, errorsTo         string
	tasks                     []string
	allowMissing              bool
	exportGroup, exportTime   string
	workers                   int

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

INPUT   a folder holding a bulk FHIR export (ndjson, optionally gzipped, made by any bulk export tool),
        or a FHIR server URL (https://host/fhir, .../Group/ID or .../Patient) to export from on the fly
OUTPUT  where the de-identified tables go; this folder may leave the hospital
PHI     where the codebook and other secrets go; this folder must stay at the hospital

Other commands: export, keygen (see cumulus-etl COMMAND --help).`,
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
	fl.StringVar(&f.outputFormat, "output-format", "ndjson", "output format: ndjson")
	fl.IntVar(&f.batchSize, "batch-size", 100000, "rows per output file")
	fl.StringArrayVar(&f.tasks, "task", nil, "only run these tasks (repeatable, or comma separated; 'help' lists them)")
	fl.BoolVar(&f.allowMissing, "allow-missing-resources", false, "write empty tables for requested tasks that have no input")
	fl.StringVar(&f.errorsTo, "errors-to", "", "keep every rejected input row in this folder (it holds PHI: keep it with the PHI folder)")
	fl.StringVar(&f.comment, "comment", "", "a note to record in the job config")
	fl.StringVar(&f.exportGroup, "export-group", "", "the export's Group id, when the input has no export log")
	fl.StringVar(&f.exportTime, "export-timestamp", "", "the export's transaction time (ISO 8601), when the input has no export log")
	fl.IntVar(&f.workers, "workers", 0, "parallel de-identification workers (default: one per CPU)")
	fl.StringVar(&f.exportTo, "export-to", "", "with a URL INPUT: keep the exported files in this local folder (default: a private temporary folder, deleted afterwards)")
	addExportFlags(fl, &f.export)
	addAuthFlags(fl, &f.export.auth)
	setGroupedHelp(cmd, []flagGroup{
		{"Tasks and output", []string{"task", "allow-missing-resources", "output-format", "batch-size", "errors-to", "comment"}},
		{"Input", []string{"input-format", "export-group", "export-timestamp", "workers"}},
		{"Bulk export (when INPUT is a FHIR server URL)", exportFlagNames},
		{"Authentication with the FHIR server", authFlagNames},
	})
	return cmd
}

func runETL(cmd *cobra.Command, f etlFlags, args []string) error {
	if isTaskHelp(f.tasks) {
		fmt.Fprint(cmd.OutOrStdout(), etl.TaskHelp())
		return nil
	}
	cfg, err := f.config(args)
	if err != nil {
		return err
	}
	cfg.Stdout, cfg.Stderr, cfg.Version = cmd.OutOrStdout(), cmd.ErrOrStderr(), Version
	if err := etl.Preflight(cfg); err != nil {
		return etlExit(err)
	}
	if !isURL(args[0]) {
		if err := bulk.CheckFinished(cfg.InputDir); err != nil {
			return &ExitError{Code: ExitBulkExportFailed, Err: err}
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
	report, err := etl.Run(cmd.Context(), cfg)
	if report != nil {
		printReport(cfg.Stdout, report)
	}
	return etlExit(err)
}

// config validates the flags and builds the run's configuration.
func (f etlFlags) config(args []string) (etl.Config, error) {
	cfg := etl.Config{InputDir: args[0], OutputDir: args[1], PHIDir: args[2],
		BatchSize: f.batchSize, Comment: f.comment, ErrorsTo: f.errorsTo,
		ExportGroup: f.exportGroup, AllowMissingResources: f.allowMissing, Workers: f.workers}
	if f.inputFormat != "ndjson" {
		return cfg, exitf(ExitArgsInvalid, "--input-format %q is not supported (use ndjson)", f.inputFormat)
	}
	if f.outputFormat != "ndjson" {
		return cfg, exitf(ExitArgsInvalid, "--output-format %q is not supported yet (use ndjson)", f.outputFormat)
	}
	if f.batchSize <= 0 {
		return cfg, exitf(ExitArgsInvalid, "--batch-size must be a positive number")
	}
	for name, path := range map[string]string{"INPUT": cfg.InputDir, "OUTPUT": cfg.OutputDir, "PHI": cfg.PHIDir, "--errors-to": f.errorsTo} {
		if scheme, _, found := strings.Cut(path, "://"); found && !(name == "INPUT" && isURL(path)) {
			return cfg, exitf(ExitArgsInvalid, "%s %s: %s:// storage is not supported yet; use a local folder", name, path, scheme)
		}
	}
	if err := f.export.validate(); err != nil {
		return cfg, err
	}
	if !isURL(cfg.InputDir) && f.usesExportFlags() {
		return cfg, exitf(ExitArgsConflict, "you provided FHIR bulk export options (--export-to, --since, --until, ...) "+
			"but INPUT is a folder, not a FHIR server URL")
	}
	if !isURL(cfg.InputDir) && isWithin(cfg.OutputDir, cfg.InputDir) {
		return cfg, exitf(ExitArgsConflict, "OUTPUT (%s) must not be inside INPUT (%s): the next run would read the tables as input", cfg.OutputDir, cfg.InputDir)
	}
	if f.workers < 0 {
		return cfg, exitf(ExitArgsInvalid, "--workers must be 0 (one per CPU) or more")
	}
	if err := keepPHIOutOfOutput(cfg.OutputDir, map[string]string{"PHI": cfg.PHIDir, "--errors-to": f.errorsTo, "--export-to": f.exportTo}); err != nil {
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

// keepPHIOutOfOutput refuses a PHI-holding folder (the PHI folder, --errors-to, --export-to) that
// is, or is inside, OUTPUT: OUTPUT is meant to leave the hospital, and everything in it with it.
func keepPHIOutOfOutput(output string, phiFolders map[string]string) error {
	out := output
	for _, name := range slices.Sorted(maps.Keys(phiFolders)) {
		dir := phiFolders[name]
		if dir != "" && !isURL(dir) && isWithin(dir, out) {
			return exitf(ExitArgsConflict, "%s (%s) holds PHI and must not be inside OUTPUT (%s), which may leave the hospital", name, dir, output)
		}
	}
	return nil
}

// isWithin reports whether path is dir or inside it (after making both absolute).
func isWithin(path, dir string) bool {
	absPath, err1 := filepath.Abs(path)
	absDir, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(absDir, absPath)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
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
		{etl.ErrWrongPHIFolder, ExitWrongPHIFolder},
		{etl.ErrCompletionInfoMissing, ExitCompletionArgsMissing},
		{etl.ErrMissingResources, ExitMissingRequestedResource},
		{etl.ErrNoTasks, ExitTaskSetEmpty},
		{etl.ErrUnknownTask, ExitTaskUnknown},
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
	fmt.Fprintf(tw, "Output:\t%s (ndjson)\n", cfg.OutputDir)
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
	if len(r.UnknownExtensions) > 0 {
		fmt.Fprintln(w, "\nUnknown extensions (kept only as {url} stubs):")
		for _, url := range slices.Sorted(maps.Keys(r.UnknownExtensions)) {
			fmt.Fprintf(w, "  %s (%d)\n", url, r.UnknownExtensions[url])
		}
	}
	if len(r.Outcomes) > 0 {
		fmt.Fprintln(w, "\nMessages from the export's error files:")
		fatal := false
		for _, o := range r.Outcomes {
			fmt.Fprintf(w, "  %s: %s (%s:%d)\n", o.Severity, o.Text, o.File, o.Line)
			fatal = fatal || o.Fatal()
		}
		if fatal {
			fmt.Fprintln(w, "  The export reported errors: some data may be missing from it.")
		}
	}
	fmt.Fprintf(w, "\nJob details: %s\n", r.JobDir)
}
