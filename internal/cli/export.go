package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
)

// exportConfig holds the bulk export flags, shared by `export` and by `etl` with a URL INPUT.
type exportConfig struct {
	auth                         fhir.AuthConfig
	types, typeFilters, tasks    []string
	elements, patients           []string
	since, until, resume         string
	post, cancel, partial, quiet bool
	maxPollInterval              time.Duration
	parallel                     int         // --parallel: downloads at once per host (0: adaptive)
	fhirURL                      string      // --fhir-url: the FHIR base, a prefix of the export URL
	inline                       inlineFlags // export --inline
	crawl                        crawlFlags  // --export-mode, the crawl's cohort, --since-mode
}

// newExportCmd builds "cumulus-etl export [OPTION]... URL DIR".
func newExportCmd() *cobra.Command {
	var c exportConfig
	cmd := &cobra.Command{
		Use:   "export [OPTION]... URL DIR",
		Short: "Run a FHIR Bulk Data export into a folder (resumable)",
		Long: "Run a FHIR Bulk Data export from URL (a FHIR base, .../Patient or .../Group/ID, with or without\n" +
			"$export and query parameters) into DIR. Rerunning the same command resumes it.",
		Args: func(cmd *cobra.Command, args []string) error {
			if isTaskHelp(c.tasks) {
				return nil // --task help needs no URL or folder
			}
			return exactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if isTaskHelp(c.tasks) {
				fmt.Fprint(cmd.OutOrStdout(), etl.TaskHelp())
				return nil
			}
			return runExport(cmd.Context(), cmd.ErrOrStderr(), args[0], args[1], c)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringSliceVar(&c.types, "type", nil, "resource types to export (_type; repeatable or comma-separated)")
	f.StringSliceVar(&c.tasks, "task", nil, "export the resources these tasks read (repeatable or comma-separated)")
	addExportFlags(f, &c)
	f.BoolVar(&c.cancel, "cancel", false, "cancel the export given by --resume or saved in DIR, and exit")
	addInlineFlags(f, &c.inline)
	addFHIRURLFlag(f, &c.fhirURL)
	addAuthFlags(f, &c.auth)
	setGroupedHelp(cmd, []flagGroup{
		{"What to export", []string{"type", "task"}},
		{"Export", append([]string{"cancel"}, exportFlagNames...)},
		{"Crawl (search each patient's resources) and incremental exports", crawlFlagNames},
		{"Clinical notes", inlineFlagNames},
		{"Authentication with the FHIR server", append([]string{"fhir-url"}, authFlagNames...)},
	})
	return cmd
}

// addExportFlags registers the flags that shape a bulk export.
func addExportFlags(f *pflag.FlagSet, c *exportConfig) {
	f.StringArrayVar(&c.typeFilters, "type-filter", nil, "a _typeFilter query such as 'Observation?category=laboratory' (repeatable)")
	f.StringVar(&c.since, "since", "", "only resources changed after this FHIR instant (_since); auto: since the last completed export of the same request in DIR (or --export-to)")
	f.StringVar(&c.until, "until", "", "only resources changed before this FHIR instant (_until)")
	f.StringSliceVar(&c.elements, "elements", nil, "only these elements (_elements; repeatable or comma-separated)")
	f.StringSliceVar(&c.patients, "patient", nil, "only these patients (patient; uses a POST kick-off)")
	f.BoolVar(&c.post, "post", false, "kick off with POST and a Parameters body instead of GET")
	f.StringVar(&c.resume, "resume", "", "status URL of an export already started (printed at kick-off)")
	f.DurationVar(&c.maxPollInterval, "max-poll-interval", bulk.DefaultMaxPollInterval, "longest wait between status checks (a 429's Retry-After is still honoured)")
	f.BoolVar(&c.partial, "partial-manifests", false, "ask for partial manifests and download files while the export runs")
	f.BoolVar(&c.quiet, "quiet", false, "print only warnings and errors during the export")
	addCrawlFlags(f, &c.crawl)
	f.IntVar(&c.parallel, "parallel", 0, fmt.Sprintf("downloads at once per host (default: %d, growing to %d while the server keeps up, halved on 429/503)",
		bulk.DefaultConcurrency, bulk.DefaultMaxConcurrency))
}

// runExport runs or cancels the export and maps failures to Cumulus exit codes.
func runExport(ctx context.Context, stderr io.Writer, rawURL, dir string, c exportConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	if strings.Contains(dir, "://") {
		return exitf(ExitExportFolderNotLocal, "DIR must be a local folder, not %s", dir)
	}
	switch {
	case c.cancel:
		if err := checkSomethingToCancel(dir, c.resume); err != nil {
			return err
		}
	case c.since == "auto": // DIR holds a series of exports: series.Plan checks it
	default:
		if err := checkExportDir("DIR", dir); err != nil {
			return err
		}
	}
	types, explicit, err := exportTypes(c, rawURL)
	if err != nil {
		return err
	}
	if err := c.inline.validate(); err != nil {
		return err
	}
	req := typeRequest{types: types, explicit: explicit, silent: c.cancel, extraScopes: c.crawl.extraScopes(rawURL)}
	if c.inline.enabled {
		req.extraScopes = append(req.extraScopes, "Binary") // the notes
	}
	display := newDisplay(stderr, c.quiet)
	defer display.Close()
	client, types, err := connectForExport(ctx, display, rawURL, c.fhirURL, req, c.auth)
	if err != nil {
		return err
	}
	if c.cancel {
		if err := bulk.Cancel(ctx, client, dir, c.resume); err != nil {
			if errors.Is(err, bulk.ErrNoExportToCancel) {
				return &ExitError{Code: ExitArgsConflict, Err: err}
			}
			return &ExitError{Code: ExitGeneric, Err: err}
		}
		display.Info("Export cancelled.")
		return nil
	}
	plan, err := planExport(display, client, rawURL, dir, types, c)
	if err != nil {
		return err
	}
	out, err := runPlanned(ctx, display, client, rawURL, types, plan, c)
	if err != nil {
		return err
	}
	if res := out.bulk; res != nil {
		msg := fmt.Sprintf("Export complete: %d files, %d resources in %s", res.Files, res.Resources, plan.dir)
		if res.KeptFiles > 0 {
			msg = fmt.Sprintf("Export complete: %d files (%d downloaded now, %d kept from an earlier run), %d resources in %s",
				res.Files, res.Files-res.KeptFiles, res.KeptFiles, res.Resources, plan.dir)
		}
		display.Info(msg)
	}
	if c.inline.enabled {
		return runHydrateWith(ctx, infoWriter{display}, display, client, client.BaseURL().String(), plan.dir, c.inline.tasks(), c.inline)
	}
	return nil
}

// checkSomethingToCancel fails at once, before any network call, when --cancel has neither a
// --resume URL nor a started export saved in dir (issue 10 item 13).
func checkSomethingToCancel(dir, resume string) error {
	if resume != "" {
		return nil
	}
	saved, err := bulk.SavedStatusURL(dir)
	if err != nil {
		return &ExitError{Code: ExitArgsInvalid, Err: err}
	}
	if saved == "" {
		return &ExitError{Code: ExitArgsConflict, Err: fmt.Errorf("%w (%s holds none)", bulk.ErrNoExportToCancel, dir)}
	}
	return nil
}

// validate checks the values a server would otherwise get as they are.
func (c exportConfig) validate() error {
	for name, v := range map[string]string{"--since": c.since, "--until": c.until} {
		if v != "" && !isFHIRTime(v) && !(name == "--since" && v == "auto") {
			return exitf(ExitArgsInvalid, "%s %q is not a FHIR instant such as 2024-01-01T00:00:00Z (or a date such as 2024-01-01)", name, v)
		}
	}
	return c.validateCrawl()
}

// isFHIRTime reports whether s is a FHIR date or dateTime: a year, year-month, date, or date and
// time with a time zone.
func isFHIRTime(s string) bool {
	for _, layout := range []string{"2006", "2006-01", "2006-01-02", time.RFC3339Nano} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// doExport runs one export into dir, creating dir if needed. A failure that leaves dir empty
// removes the dir it created (a refused kick-off leaves log.ndjson, which is kept). After a
// failure the result is nil, or what the export got (when the server reported errors in its
// error files, every file is still downloaded).
func doExport(ctx context.Context, display progress.Reporter, client bulk.Doer, rawURL, dir string, types []string, c exportConfig) (*bulk.Result, error) {
	_, statErr := os.Stat(dir)
	res, err := bulk.Export(ctx, client, bulk.Options{URL: rawURL, Dir: dir, Types: types, TypeFilters: c.typeFilters,
		Since: c.since, Until: c.until, Elements: c.elements, Patients: c.patients, Post: c.post, Resume: c.resume,
		MaxPollInterval: c.maxPollInterval, PartialManifests: c.partial, Progress: display, ClientVersion: Version,
		Concurrency: c.parallel, MaxConcurrency: c.parallel})
	if err != nil {
		if os.IsNotExist(statErr) {
			_ = os.Remove(dir) // only succeeds when empty
		}
		if ctx.Err() != nil {
			return nil, interruptedError{next: "run the same command again to resume (the files downloaded so far are kept in " + dir + ")"}
		}
		return res, &ExitError{Code: exportExitCode(err), Err: err} // res may say what was downloaded
	}
	return res, nil
}

// exportExitCode maps an export error to its exit code (Cumulus: any export failure is 16).
func exportExitCode(err error) int {
	if code := authExitCode(err); code != ExitGeneric {
		return code
	}
	if errors.Is(err, bulk.ErrOtherExport) {
		return ExitExportFolderNotEmpty
	}
	if errors.Is(err, bulk.ErrServerReportedErrors) || errors.Is(err, bulk.ErrExportFailed) {
		return ExitBulkExportFailed
	}
	return ExitGeneric
}
