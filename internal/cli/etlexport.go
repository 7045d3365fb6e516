package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/crawl"
	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/scratch"
)

// exportInput runs the bulk export for an etl whose INPUT is a FHIR server URL ("internal
// export") and points cfg at the exported folder. The returned cleanup removes a temporary export
// folder, also after a failure or Ctrl-C; it is never nil.
func exportInput(ctx context.Context, stderr io.Writer, f etlFlags, cfg *etl.Config) (cleanup func(), err error) {
	cleanup = func() {}
	rawURL := cfg.InputDir
	dir := f.exportTo
	if f.export.since == "auto" && dir == "" {
		return cleanup, exitf(ExitArgsConflict, "--since auto needs --export-to DIR: the folder where the earlier exports are kept")
	}
	if dir == "" {
		// A scratch folder is 0700 (exported files are PHI), and a later run removes it if this
		// one is killed before its cleanup.
		tmp, err := scratch.New("")
		if err != nil {
			return cleanup, fmt.Errorf("creating a temporary export folder: %w", err)
		}
		cleanup = func() { tmp.Remove() }
		if dir, err = tmp.MkdirTemp("export-"); err != nil {
			return cleanup, fmt.Errorf("creating a temporary export folder: %w", err)
		}
	} else if f.export.since != "auto" { // with --since auto, dir holds a series: series.Plan checks it
		if err := checkExportDir("--export-to", dir); err != nil {
			return cleanup, err
		}
	}

	display := newDisplay(stderr, f.export.quiet)
	defer display.Close()
	req := typeRequest{types: etl.Resources(cfg.Tasks), explicit: cfg.ExplicitTasks, allowMissing: cfg.AllowMissingResources,
		extraScopes: f.export.crawl.extraScopes(rawURL)}
	client, types, err := connectForExport(ctx, display, rawURL, f.export.fhirURL, req, f.export.auth)
	if err != nil {
		return cleanup, err
	}
	plan, err := planExport(display, client, rawURL, dir, types, f.export)
	if err != nil {
		return cleanup, err
	}
	if plan.window.Since != "" && f.outputFormat != "deltalake" {
		display.Warn("Only what changed since " + plan.window.Since + " is exported, and --output-format " + f.outputFormat +
			" replaces each table with the rows of this run: OUTPUT's tables will hold only the changes " +
			"(deltalake upserts them; or load the whole series of exports)")
	}
	res, err := runPlanned(ctx, display, client, rawURL, types, plan, f.export)
	if err != nil && f.allowErrors && (errors.Is(err, bulk.ErrServerReportedErrors) || errors.Is(err, crawl.ErrPatientsFailed)) {
		display.Warn(fmt.Sprintf("%v\nGoing on (--allow-export-errors): some data may be missing.", err))
		err = nil
	}
	if err != nil {
		if f.exportTo == "" && plan.mode == modeBulk {
			cancelAbandonedExport(ctx, display, client, dir)
			if ctx.Err() != nil {
				err = interruptedError{next: "the unfinished export was cancelled on the server and nothing was written to OUTPUT"}
			}
		}
		if f.exportTo == "" && (errors.Is(err, bulk.ErrServerReportedErrors) || errors.Is(err, crawl.ErrPatientsFailed)) {
			err = fmt.Errorf("%w\nThat folder is temporary and is removed now: run again with --export-to DIR to keep "+
				"the export and read the messages there (--allow-export-errors loads the data anyway)", err)
		}
		return cleanup, err
	}
	cfg.InputDescription, cfg.InputDir = rawURL, plan.dir
	if cfg.ExportURL == "" {
		cfg.ExportURL = res.url
	}
	if cfg.ExportGroup == "" {
		cfg.ExportGroup = res.group
	}
	if cfg.ExportTimestamp.IsZero() {
		cfg.ExportTimestamp = res.time
	}
	return cleanup, nil
}

// cancelAbandonedExport deletes, on the server, an export that failed or was interrupted into a
// temporary folder: its files are about to be removed, so it can never be resumed, and EHRs such
// as Epic allow one export per client and group at a time. It also runs after Ctrl-C, so it gets
// its own short deadline.
func cancelAbandonedExport(ctx context.Context, display progress.Reporter, client *fhir.Client, dir string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	switch err := bulk.Cancel(ctx, client, dir, ""); {
	case err == nil:
		display.Info("Cancelled the unfinished export on the server.")
	case !errors.Is(err, bulk.ErrNoExportToCancel):
		display.Warn(fmt.Sprintf("could not cancel the unfinished export on the server: %v", err))
	}
}

// checkExportDir accepts an export folder (the export command's DIR, or --export-to) that is local
// and missing, empty, or holds an earlier export of ours: the export resumes or reuses it when the
// request is the same, and refuses otherwise. Any other folder is refused, so exported PHI never
// lands in, say, an ETL OUTPUT folder.
func checkExportDir(name, dir string) error {
	if strings.Contains(dir, "://") {
		return exitf(ExitExportFolderNotLocal, "%s must be a local folder, not %s", name, dir)
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil // the export creates it once the server is reached (issue 13 item 7)
	} else if err != nil {
		return exitf(ExitArgsInvalid, "%s: %v", name, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".cumulus-export")); err == nil {
		return nil
	}
	if len(entries) == 0 || (len(entries) == 1 && entries[0].Name() == "log.ndjson") {
		return nil // empty, or only the log of a kick-off that failed (as Cumulus ETL allows)
	}
	return exitf(ExitExportFolderNotEmpty, "%s (%s) already holds files that are not an export of ours; "+
		"give an empty or new folder", name, dir)
}
