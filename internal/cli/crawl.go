package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/crawl"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/series"
)

// Export modes (--export-mode).
const (
	modeAuto  = "auto"
	modeBulk  = "bulk"
	modeCrawl = "crawl"
)

// crawlFlags are the flags of crawl mode and of incremental exports, shared by export and etl.
type crawlFlags struct {
	mode                        string // --export-mode
	idFile, idSystem, sourceDir string
	idList                      []string
	sinceMode                   string
	noDefaultFilters            bool
	pageSize                    int
}

// crawlFlagNames are the flags addCrawlFlags registers.
var crawlFlagNames = []string{"export-mode", "id-file", "id-list", "id-system", "source-dir", "since-mode",
	"no-default-filters", "page-size"}

func addCrawlFlags(f *pflag.FlagSet, c *crawlFlags) {
	f.StringVar(&c.mode, "export-mode", modeAuto, "bulk (a Bulk Data export), crawl (each patient's resources searched), or auto: crawl for Epic, bulk otherwise")
	f.StringVar(&c.idFile, "id-file", "", "crawl these patients: a file of ids, one a line, or a CSV with an ID or MRN column")
	f.StringSliceVar(&c.idList, "id-list", nil, "crawl these patients (ids, comma-separated)")
	f.StringVar(&c.idSystem, "id-system", "", "the ids of --id-file/--id-list are Patient.identifier values of this system (such as an MRN system), not Patient ids")
	f.StringVar(&c.sourceDir, "source-dir", "", "crawl the Patients of this earlier export folder")
	f.StringVar(&c.sinceMode, "since-mode", "auto", "what --since compares with: updated (meta.lastUpdated), created (each type's creation date, for servers without _lastUpdated), or auto")
	f.BoolVar(&c.noDefaultFilters, "no-default-filters", false, "export every Observation, not only the nine standard categories")
	f.IntVar(&c.pageSize, "page-size", 0, "crawl: resources per search page (_count); 0 sizes it for the server")
}

// cohortGiven reports whether a crawl cohort flag is set.
func (c crawlFlags) cohortGiven() bool {
	return c.idFile != "" || len(c.idList) > 0 || c.sourceDir != "" || c.idSystem != ""
}

// validate refuses, before anything is sent, the combinations crawl mode and --since auto cannot
// serve.
func (c exportConfig) validateCrawl() error {
	k := c.crawl
	if !slices.Contains([]string{"", modeAuto, modeBulk, modeCrawl}, k.mode) {
		return exitf(ExitArgsInvalid, "--export-mode %q: use auto, bulk or crawl", k.mode)
	}
	if !slices.Contains([]string{"", "auto", string(crawl.SinceUpdated), string(crawl.SinceCreated)}, k.sinceMode) {
		return exitf(ExitArgsInvalid, "--since-mode %q: use auto, updated or created", k.sinceMode)
	}
	if k.pageSize < 0 {
		return exitf(ExitArgsInvalid, "--page-size must be 0 or more")
	}
	if c.since == "auto" && (c.resume != "" || c.cancel) {
		return exitf(ExitArgsConflict, "--since auto starts a new export; it cannot be used with --resume or --cancel")
	}
	if k.mode == modeBulk && k.cohortGiven() {
		return exitf(ExitArgsConflict, "--id-file, --id-list, --id-system and --source-dir choose a crawl's cohort; they need --export-mode crawl (or auto)")
	}
	if k.mode == modeCrawl || k.cohortGiven() {
		for name, set := range map[string]bool{"--patient": len(c.patients) > 0, "--post": c.post, "--resume": c.resume != "",
			"--cancel": c.cancel, "--partial-manifests": c.partial} {
			if set {
				return exitf(ExitArgsConflict, "%s is for bulk exports, not crawls (the cohort of a crawl: a Group URL, --id-file, --id-list or --source-dir)", name)
			}
		}
	}
	if k.cohortGiven() {
		if err := k.cohort("").Validate(); err != nil {
			return &ExitError{Code: ExitArgsConflict, Err: err}
		}
	}
	return nil
}

// extraScopes is the read access a crawl may need beyond the exported types: Patient (its cohort
// comes from the Patients of a Group, or from identifier searches), and Group for a Group it
// may have to read (an explicit crawl of a Group URL).
func (c crawlFlags) extraScopes(rawURL string) []string {
	if c.mode == modeBulk {
		return nil
	}
	scopes := []string{"Patient"}
	if _, group, _ := bulk.ParseExportURL(rawURL); c.mode == modeCrawl && group != "" {
		scopes = append(scopes, "Group")
	}
	return scopes
}

// cohort is the crawl's cohort: the flags, else the URL's Group.
func (c crawlFlags) cohort(group string) crawl.Cohort {
	if c.cohortGiven() {
		return crawl.Cohort{IDFile: c.idFile, IDList: c.idList, IDSystem: c.idSystem, SourceDir: c.sourceDir}
	}
	return crawl.Cohort{Group: group}
}

// exportPlan is how an export runs once the server's CapabilityStatement is known: bulk or crawl,
// into which folder, asking for which window and filters.
type exportPlan struct {
	mode     string
	dir      string
	filters  crawl.Filters // --type-filter, the URL's _typeFilter (crawl) and the default Observation filter
	window   crawl.Window
	previous string       // the export the window starts from (--since auto), "" none
	next     *series.Next // --since auto: the series entry, recorded before the export starts
}

// planExport decides the mode (and says why), the filters, the time window and, with --since
// auto, the folder of the series in dir to export into.
func planExport(display progress.Reporter, client *fhir.Client, rawURL, dir string, types []string, c exportConfig) (*exportPlan, error) {
	caps := client.Capabilities()
	p := &exportPlan{dir: dir}
	var why string
	p.mode, why = chooseMode(c.crawl, caps, rawURL)
	display.Info(fmt.Sprintf("Export mode: %s (%s)", p.mode, why))
	if p.mode == modeCrawl {
		if _, group, _ := bulk.ParseExportURL(rawURL); group == "" && !c.crawl.cohortGiven() {
			return nil, exitf(ExitArgsConflict, "a crawl needs a cohort: a Group URL (.../Group/ID), --id-file, --id-list or --source-dir")
		}
	}
	var err error
	if p.filters, err = exportFilters(rawURL, types, c, caps, p.mode); err != nil {
		return nil, err
	}
	p.window = crawl.Window{Since: c.since, Until: c.until}
	if c.since == "auto" {
		if err := p.planSeries(display, client, rawURL, types, c); err != nil {
			return nil, err
		}
	}
	if p.window.Since != "" || p.window.Until != "" {
		mode, why, err := crawl.ChooseSinceMode(c.crawl.sinceMode, caps, p.mode == modeBulk)
		if err != nil {
			return nil, &ExitError{Code: ExitArgsInvalid, Err: err}
		}
		p.window.Mode = mode
		msg := fmt.Sprintf("Since mode: %s (%s)", mode, why)
		if mode == crawl.SinceCreated {
			msg += "; types without a creation date to search are exported whole: " + strings.Join(wholeTypes(types), ", ")
		}
		display.Info(msg)
	}
	return p, nil
}

// chooseMode resolves --export-mode auto: crawl when a cohort is given or the server is Epic
// (its bulk export is slow and limited), bulk otherwise.
func chooseMode(k crawlFlags, caps fhir.Capabilities, rawURL string) (mode, why string) {
	_, group, _ := bulk.ParseExportURL(rawURL)
	switch {
	case k.mode == modeBulk, k.mode == modeCrawl:
		return k.mode, "--export-mode " + k.mode
	case k.cohortGiven():
		return modeCrawl, "the cohort is given by --id-file, --id-list or --source-dir"
	case caps.IsEpic() && group != "":
		return modeCrawl, "the server is Epic, whose bulk export is slow; --export-mode bulk to use it anyway"
	case caps.IsEpic():
		return modeBulk, "the server is Epic, but a crawl needs a Group URL or --id-file"
	}
	return modeBulk, "--export-mode crawl to search each patient's resources instead"
}

// exportFilters are the filters of the export: --type-filter (and for a crawl, the URL's own
// _typeFilter), plus SMART Fetch's default Observation filter unless --no-default-filters or
// an Observation filter of the user's.
func exportFilters(rawURL string, types []string, c exportConfig, caps fhir.Capabilities, mode string) (crawl.Filters, error) {
	values := slices.Clone(c.typeFilters)
	inURL := urlTypeFilters(rawURL)
	if mode == modeCrawl {
		values = append(values, inURL...)
	}
	f, err := crawl.ParseTypeFilters(values)
	if err != nil {
		return nil, &ExitError{Code: ExitArgsInvalid, Err: err}
	}
	userObs := slices.ContainsFunc(append(values, inURL...), func(v string) bool { return strings.HasPrefix(v, "Observation?") })
	if !c.crawl.noDefaultFilters && !userObs {
		f = f.WithDefaultObservationFilter(append(slices.Clone(types), urlTypes(rawURL)...), caps)
	}
	return f, nil
}

// urlTypeFilters returns the _typeFilter values of an export URL (commas inside a filter were
// sent as %2C).
func urlTypeFilters(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	var out []string
	for _, v := range u.Query()["_typeFilter"] {
		for _, f := range strings.Split(v, ",") {
			out = append(out, strings.ReplaceAll(f, "%2C", ","))
		}
	}
	return out
}

// wholeTypes are the types a created-mode window cannot narrow.
func wholeTypes(types []string) []string {
	var out []string
	for _, t := range types {
		if crawl.CreatedSearchParams[t] == "" {
			out = append(out, t)
		}
	}
	return out
}

// planSeries resolves --since auto: dir holds the exports of a series, the next one goes into a
// subfolder, and the window starts at the transaction time of the last completed export of the
// same request (bulk or crawl), or nowhere for the first.
func (p *exportPlan) planSeries(display progress.Reporter, client *fhir.Client, rawURL string, types []string, c exportConfig) error {
	request, err := requestURL(client, rawURL, types, p.filters, p.mode, c.crawl, crawl.Window{})
	if err != nil {
		return err
	}
	next, err := series.Plan(p.dir, request, time.Now())
	if err != nil {
		code := ExitGeneric
		if errors.Is(err, series.ErrNotASeries) {
			code = ExitExportFolderNotEmpty
		}
		return &ExitError{Code: code, Err: err}
	}
	p.next, p.dir, p.window.Since = next, next.Folder, next.Entry.Since
	switch {
	case next.Resuming:
		display.Info("--since auto: going on with the unfinished export in " + next.Folder)
	case next.Entry.Since == "":
		display.Info("--since auto: no completed export of this request in " + filepath.Dir(next.Folder) +
			"; exporting everything into " + next.Folder)
	default:
		display.Info(fmt.Sprintf("--since auto: exporting what changed since %s, the transaction time of %s, into %s",
			next.Entry.Since, filepath.Join(filepath.Dir(next.Folder), next.Entry.Previous), next.Folder))
	}
	if next.Entry.Previous != "" {
		p.previous = filepath.Join(filepath.Dir(next.Folder), next.Entry.Previous)
	}
	return nil
}

// requestURL is the export's request as a kick-off URL: for a bulk export the one it sends; for
// a crawl the one a bulk export of the same data would send, its Group being the cohort's name
// (as SMART Fetch records it, so the ETL's completion tables name the cohort).
func requestURL(client *fhir.Client, rawURL string, types []string, f crawl.Filters, mode string, k crawlFlags, w crawl.Window) (string, error) {
	u := rawURL
	if mode == modeCrawl {
		_, group, _ := bulk.ParseExportURL(rawURL)
		u = client.BaseURL().String()
		if name := k.cohort(group).Name(); name != "" {
			u += "Group/" + url.PathEscape(name)
		}
	}
	req, err := bulk.KickoffURL(bulk.Options{URL: u, Types: types, TypeFilters: f.TypeFilterValues(), Since: w.Since, Until: w.Until})
	if err != nil {
		return "", &ExitError{Code: ExitArgsInvalid, Err: err}
	}
	return req, nil
}

// bulkConfig is c as a bulk export of the plan asks it: the plan's filters and window (in
// created mode, the window is a filter on each type's creation date instead of _since).
func (p *exportPlan) bulkConfig(types []string, caps fhir.Capabilities, c exportConfig) exportConfig {
	f := p.filters
	c.since, c.until = p.window.Since, p.window.Until
	if p.window.Mode == crawl.SinceCreated {
		f = f.WithSince(types, p.window, caps)
		c.since, c.until = "", ""
	}
	c.typeFilters = f.TypeFilterValues()
	return c
}

// record saves the --since auto entry in the export folder before the export starts.
func (p *exportPlan) record() error {
	if p.next == nil {
		return nil
	}
	return series.Record(p.next)
}

// runPlanned runs the planned export: a crawl, or a bulk export. It returns what the ETL needs
// to know of it.
func runPlanned(ctx context.Context, display progress.Reporter, client *fhir.Client, rawURL string, types []string,
	p *exportPlan, c exportConfig) (exported, error) {
	if err := p.record(); err != nil {
		return exported{}, err
	}
	if p.mode == modeCrawl {
		return doCrawl(ctx, display, client, rawURL, types, p, c)
	}
	res, err := doExport(ctx, display, client, rawURL, p.dir, types, p.bulkConfig(types, client.Capabilities(), c))
	if res == nil {
		return exported{}, err
	}
	return exported{url: res.ExportURL, group: res.GroupName, time: res.TransactionTime, bulk: res}, err
}

// exported is what an export of either mode tells the ETL.
type exported struct {
	url, group string
	time       time.Time
	bulk       *bulk.Result // a bulk export's result, nil for a crawl
}
