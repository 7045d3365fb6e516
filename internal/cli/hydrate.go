package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/hydrate"
	"cumulus-etl/internal/notes"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/store"
)

// inlineFlags are the note download options shared by inline, hydrate and export --inline.
type inlineFlags struct {
	enabled        bool     // export --inline
	resources      []string // inline --resource, export --inline-resource
	mediaTypes     []string
	maxNoteSize    string
	maxConcurrency int
}

// hydrateFlags are the options of the inline and hydrate commands.
type hydrateFlags struct {
	inline  inlineFlags
	tasks   []string
	fhirURL string
	auth    fhir.AuthConfig
	quiet   bool
}

var inlineFlagNames = []string{"inline", "inline-resource", "inline-mimetype", "resource", "mimetype", "max-note-size", "max-concurrency"}

// addInlineFlags registers export's --inline options (Cumulus ETL's names).
func addInlineFlags(f *pflag.FlagSet, c *inlineFlags) {
	f.BoolVar(&c.enabled, "inline", false, "after the export, download the notes of DocumentReference and DiagnosticReport into their attachments")
	f.StringSliceVar(&c.resources, "inline-resource", nil, "inline only these resource types: DocumentReference, DiagnosticReport (default both)")
	addNoteFlags(f, c, "inline-mimetype")
}

// addNoteFlags registers the media type, size and concurrency options of note downloads.
func addNoteFlags(f *pflag.FlagSet, c *inlineFlags, mimetypeFlag string) {
	f.StringSliceVar(&c.mediaTypes, mimetypeFlag, notes.DefaultMediaTypes, "attachment types to download (repeatable or comma separated)")
	f.StringVar(&c.maxNoteSize, "max-note-size", "8MiB", "largest note to download (e.g. 500KiB, 8MiB); larger ones stay links and are counted")
	f.IntVar(&c.maxConcurrency, "max-concurrency", hydrate.DefaultMaxConcurrency, "most downloads at once (it starts at half and adapts to the server)")
}

// validate checks the values before anything is downloaded.
func (c inlineFlags) validate() error {
	if _, err := parseSize(c.maxNoteSize); err != nil {
		return exitf(ExitArgsInvalid, "--max-note-size: %v", err)
	}
	if c.maxConcurrency <= 0 {
		return exitf(ExitArgsInvalid, "--max-concurrency must be 1 or more")
	}
	for _, r := range c.resources {
		if r != notes.DocumentReference && r != notes.DiagnosticReport {
			return exitf(ExitArgsInvalid, "notes are inlined only for DocumentReference and DiagnosticReport, not %q", r)
		}
	}
	return nil
}

// tasks returns the inline tasks for the chosen resource types.
func (c inlineFlags) tasks() []string {
	if len(c.resources) == 0 {
		return []string{hydrate.TaskDocInline, hydrate.TaskDxrInline}
	}
	var out []string
	for _, r := range c.resources {
		if r == notes.DocumentReference {
			out = append(out, hydrate.TaskDocInline)
		} else {
			out = append(out, hydrate.TaskDxrInline)
		}
	}
	return out
}

// newInlineCmd builds "cumulus-etl inline [OPTION]... DIR [FHIR_URL]".
func newInlineCmd() *cobra.Command {
	var f hydrateFlags
	cmd := &cobra.Command{
		Use:   "inline [OPTION]... DIR [FHIR_URL]",
		Short: "Download the clinical notes of an export folder into their attachments",
		Long: "Downloads the notes that DocumentReference and DiagnosticReport resources in DIR only link to\n" +
			"(attachment url) into the attachments themselves (data, size, hash), rewriting each file atomically.\n" +
			"Rerunning it downloads only what is still missing. FHIR_URL is the same as --fhir-url.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("accepts DIR and an optional FHIR_URL, received %d arguments (usage: %s)", len(args), cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				if f.fhirURL != "" && strings.TrimSuffix(f.fhirURL, "/") != strings.TrimSuffix(args[1], "/") {
					return exitf(ExitArgsConflict, "FHIR_URL %s and --fhir-url %s differ", args[1], f.fhirURL)
				}
				f.fhirURL = args[1]
			}
			return runHydrate(cmd, args[0], f.inline.tasks(), f)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringSliceVar(&f.inline.resources, "resource", nil, "inline only these resource types: DocumentReference, DiagnosticReport (default both)")
	addNoteFlags(fl, &f.inline, "mimetype")
	addHydrateCommonFlags(cmd, &f)
	return cmd
}

// newHydrateCmd builds "cumulus-etl hydrate [OPTION]... DIR".
func newHydrateCmd() *cobra.Command {
	var f hydrateFlags
	cmd := &cobra.Command{
		Use:   "hydrate [OPTION]... DIR",
		Short: "Fill in what an export folder lacks: notes, and the Medications it references",
		Long: "Runs hydration tasks over the export folder DIR:\n" +
			"  doc-inline  download DocumentReference notes into their attachments (as `inline` does)\n" +
			"  dxr-inline  the same for DiagnosticReport.presentedForm\n" +
			"  medication  fetch the Medication resources that MedicationRequest/MedicationDispense reference\n" +
			"              but DIR lacks, into DIR/Medication.hydrated.ndjson\n" +
			"Every task resumes where an interrupted run stopped and downloads nothing it already has.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := hydrate.CheckTasks(f.tasks)
			if err != nil {
				return &ExitError{Code: ExitTaskUnknown, Err: err}
			}
			return runHydrate(cmd, args[0], names, f)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringSliceVar(&f.tasks, "tasks", nil, "tasks to run: doc-inline, dxr-inline, medication (default all; comma separated)")
	addNoteFlags(fl, &f.inline, "mimetype")
	addHydrateCommonFlags(cmd, &f)
	return cmd
}

// addHydrateCommonFlags registers --fhir-url, --quiet and the authentication flags, and the help sections.
func addHydrateCommonFlags(cmd *cobra.Command, f *hydrateFlags) {
	fl := cmd.Flags()
	fl.BoolVar(&f.quiet, "quiet", false, "print only failures and the summary")
	addFHIRURLFlag(fl, &f.fhirURL)
	addAuthFlags(fl, &f.auth)
	setGroupedHelp(cmd, []flagGroup{
		{"What to download", []string{"tasks", "resource", "mimetype", "max-note-size", "max-concurrency", "quiet"}},
		{"The FHIR server", append([]string{"fhir-url"}, authFlagNames...)},
	})
}

// runHydrate checks DIR, connects to the FHIR server and runs the tasks.
func runHydrate(cmd *cobra.Command, dir string, names []string, f hydrateFlags) error {
	if err := f.inline.validate(); err != nil {
		return err
	}
	if strings.Contains(dir, "://") {
		return exitf(ExitArgsInvalid, "DIR must be a local folder, not %s", dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return exitf(ExitArgsInvalid, "DIR %s is not a folder", dir)
	}
	if err := bulk.CheckFinished(dir); err != nil {
		return &ExitError{Code: ExitBulkExportFailed, Err: err}
	}
	ctx := cmd.Context()
	display := newDisplay(cmd.ErrOrStderr(), f.quiet)
	defer display.Close()
	client, base, err := hydrateClient(ctx, display, f, names)
	if err != nil {
		return err
	}
	return runHydrateWith(ctx, cmd.OutOrStdout(), display, client, base, dir, names, f.inline)
}

// hydrateClient connects to --fhir-url with the credentials, or, without it, makes a client
// that sends no credentials anywhere (relative URLs then fail with exit 24).
func hydrateClient(ctx context.Context, display progress.Reporter, f hydrateFlags, tasks []string) (hydrate.Doer, string, error) {
	if f.fhirURL == "" {
		if f.auth != (fhir.AuthConfig{CAFile: f.auth.CAFile}) {
			return nil, "", exitf(ExitFHIRURLMissing, "credentials need --fhir-url: they are sent only to that FHIR server")
		}
		return &anonymousClients{ca: f.auth.CAFile}, "", nil
	}
	client, err := fhir.New(ctx, fhir.Options{BaseURL: f.fhirURL, Auth: f.auth, Resources: hydrate.Resources(tasks),
		Version: Version, MaxConnsPerHost: f.inline.maxConcurrency, Logger: warningLogger(display)})
	if err != nil {
		return nil, "", &ExitError{Code: authExitCode(err), Err: err}
	}
	return client, client.BaseURL().String(), nil
}

// runHydrateWith runs the tasks over dir through client, prints the summary, and returns the
// run's exit: 24 when relative URLs had no FHIR server, 70 when downloads failed, 71 when notes
// were over the size cap.
func runHydrateWith(ctx context.Context, stdout io.Writer, display progress.Reporter, client hydrate.Doer, base, dir string,
	names []string, c inlineFlags) error {
	maxSize, _ := parseSize(c.maxNoteSize) // validated
	rep, err := hydrate.Run(ctx, hydrate.Options{Dir: dir, Client: client, Base: base, MediaTypes: c.mediaTypes,
		MaxNoteSize: maxSize, MaxConcurrency: c.maxConcurrency, Progress: display}, names)
	if rep != nil {
		printHydrateReport(stdout, rep)
	}
	switch {
	case errors.Is(err, store.ErrLocked):
		return &ExitError{Code: ExitLocked, Err: fmt.Errorf("%w; wait for the other run to end", err)}
	case errors.Is(err, store.ErrLockLost):
		return &ExitError{Code: ExitLockLost, Err: err}
	case errors.Is(err, context.Canceled):
		return interruptedError{next: "rerun the same command to continue: nothing downloaded so far is lost"}
	case err != nil:
		return &ExitError{Code: authExitCode(err), Err: err}
	case rep.RelativeWithoutBase() > 0:
		return exitf(ExitFHIRURLMissing, "%d URLs are relative: give the FHIR server they belong to with --fhir-url", rep.RelativeWithoutBase())
	case rep.Failed() > 0:
		return exitf(ExitHydrateFailed, "%d downloads failed (listed above); rerun the same command to try them again", rep.Failed())
	case rep.TooLarge() > 0:
		return exitf(ExitNoteTooLarge, "%d notes are larger than --max-note-size %s and were left as links", rep.TooLarge(), c.maxNoteSize)
	}
	return nil
}
