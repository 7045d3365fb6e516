package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/crawl"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
)

// doCrawl runs the planned crawl into p.dir and says how it went.
func doCrawl(ctx context.Context, display progress.Reporter, client *fhir.Client, rawURL string, types []string,
	p *exportPlan, c exportConfig) (exported, error) {
	request, err := requestURL(client, rawURL, types, p.filters, p.mode, c.crawl, p.window)
	if err != nil {
		return exported{}, err
	}
	_, group, _ := bulk.ParseExportURL(rawURL)
	cohort := c.crawl.cohort(group)
	res, err := crawl.Crawl(ctx, crawl.Options{Client: client, Dir: p.dir, Request: request, Cohort: cohort,
		Types: types, Filters: p.filters, Elements: c.elements, Window: p.window, PreviousExport: p.previous,
		PageSize: c.crawl.pageSize, Progress: display, ClientVersion: Version})
	if ctx.Err() != nil {
		return exported{}, interruptedError{next: "run the same command again to go on (the patients finished so far are kept in " + p.dir + ")"}
	}
	out := exported{url: request, group: cohort.Name()}
	if res != nil {
		out.time = res.TransactionTime
		reportCrawl(display, p.dir, res)
	}
	if err != nil {
		return out, &ExitError{Code: crawlExitCode(err), Err: err}
	}
	if res.Unresolved > 0 {
		return out, exitf(ExitCrawlPatientsFailed, "%d identifiers found no Patient; they are listed in %s/failed-identifiers.tsv", res.Unresolved, p.dir)
	}
	return out, nil
}

// reportCrawl prints the crawl's totals and the servers' messages (tallied, never their text).
func reportCrawl(display progress.Reporter, dir string, res *crawl.Result) {
	if len(res.Messages) > 0 {
		display.Info("Messages from server:\n - " + strings.Join(res.Messages, "\n - "))
	}
	kept := ""
	if res.Kept > 0 {
		kept = fmt.Sprintf(" (%d finished by an earlier run)", res.Kept)
	}
	display.Info(fmt.Sprintf("Crawl: %d of %d patients done%s, %d failed; %d resources, %d requests now, in %s",
		res.Patients-res.Failed, res.Patients, kept, res.Failed, res.Resources, res.Requests, dir))
}

// crawlExitCode maps a crawl error to its exit code.
func crawlExitCode(err error) int {
	switch {
	case errors.Is(err, crawl.ErrPatientsFailed):
		return ExitCrawlPatientsFailed
	case errors.Is(err, crawl.ErrCohortEmpty):
		return ExitCohortEmpty
	case errors.Is(err, crawl.ErrBadIDs), errors.Is(err, crawl.ErrBadFilter):
		return ExitArgsInvalid
	case errors.Is(err, crawl.ErrCrawlFailed):
		return ExitBulkExportFailed
	}
	return exportExitCode(err)
}
