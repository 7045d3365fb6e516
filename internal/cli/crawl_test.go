package cli

import (
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// sampleEHR is a fake EHR (SMART, TLS with its own CA) holding the bundled sample export, its 20
// patients in Group G1; auth are the flags that reach it.
type sampleEHR struct {
	*fhirtest.Server
	auth     []string
	patients []string
}

func newSampleEHR(t *testing.T, opts ...fhirtest.Option) *sampleEHR {
	t.Helper()
	var types []fhirtest.SearchType
	for _, f := range sampleFiles(t) {
		if f.Kind == "output" && !slices.ContainsFunc(types, func(st fhirtest.SearchType) bool { return st.Type == f.Type }) {
			types = append(types, fhirtest.SearchType{Type: f.Type}) // no parameters listed: any is accepted
		}
	}
	srv := fhirtest.NewServer(t, append([]fhirtest.Option{fhirtest.WithSearchTypes(types...)}, opts...)...)
	e := &sampleEHR{Server: srv}
	for _, f := range sampleFiles(t) {
		if f.Kind != "output" {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(f.Body)), "\n") {
			srv.AddResources(t, []byte(line))
			if f.Type == "Patient" {
				var p struct{ ID string }
				json.Unmarshal([]byte(line), &p)
				e.patients = append(e.patients, p.ID)
			}
		}
	}
	e.setGroup(t, "G1", e.patients)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e.auth = []string{"--smart-client-id", fhirtest.ClientID, "--smart-key", srv.KeyPath, "--ca-file", ca}
	return e
}

// setGroup stores Group/id with these members.
func (e *sampleEHR) setGroup(t *testing.T, id string, members []string) {
	var list []any
	for _, m := range members {
		list = append(list, map[string]any{"entity": map[string]any{"reference": "Patient/" + m}})
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Group", "id": id, "member": list})
	e.AddResources(t, b)
}

// run runs cumulus-etl with the EHR's auth flags and fails the test on another exit code.
func (e *sampleEHR) run(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append(args, e.auth...)...)
	if code != want {
		t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, want, stdout, stderr)
	}
	return stdout, stderr
}

// linesByType reads an export folder's data files: every resource (as canonical JSON, since
// servers may escape differently), sorted, by file type.
func linesByType(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	for _, f := range files {
		if filepath.Base(f) == "log.ndjson" {
			continue
		}
		typ := strings.SplitN(filepath.Base(f), ".", 2)[0]
		for _, line := range readLines(t, f) {
			var v any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			b, _ := json.Marshal(v)
			out[typ] = append(out[typ], string(b))
		}
	}
	for typ := range out {
		slices.Sort(out[typ])
	}
	return out
}

// tableRows reads the ETL's resource tables (not its job and completion records), rows sorted.
func tableRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(out, "*", "*.ndjson"))
	for _, f := range files {
		table := filepath.Base(filepath.Dir(f))
		if strings.HasPrefix(table, "etl__") || table == "JobConfig" {
			continue
		}
		rows[table] = append(rows[table], readLines(t, f)...)
	}
	for table := range rows {
		slices.Sort(rows[table])
	}
	return rows
}

// TestExportModes_BulkAndCrawlGiveTheSameData (issue 14, done means): the same cohort exported
// by bulk and by crawl from the fake EHR gives the same resources, and etl on either folder gives
// the same tables.
func TestExportModes_BulkAndCrawlGiveTheSameData(t *testing.T) {
	e := newSampleEHR(t)
	tmp := t.TempDir()
	bulkDir, crawlDir := filepath.Join(tmp, "bulk"), filepath.Join(tmp, "crawl")
	_, stderr := e.run(t, ExitOK, "export", e.BaseURL+"Group/G1", bulkDir, "--export-mode", "bulk")
	if !strings.Contains(stderr, "Export mode: bulk (--export-mode bulk)") {
		t.Errorf("the mode is not said:\n%s", stderr)
	}
	_, stderr = e.run(t, ExitOK, "export", e.BaseURL+"Group/G1", crawlDir, "--export-mode", "crawl")
	if !strings.Contains(stderr, "Export mode: crawl") || !strings.Contains(stderr, "Location left out: not in the patient compartment") {
		t.Errorf("the mode or the types left out are not said:\n%s", stderr)
	}
	fromBulk, fromCrawl := linesByType(t, bulkDir), linesByType(t, crawlDir)
	if len(fromBulk) < 10 {
		t.Fatalf("the bulk export has only %d types", len(fromBulk))
	}
	for typ, lines := range fromBulk {
		if !slices.Equal(lines, fromCrawl[typ]) {
			t.Errorf("%s: %d resources by bulk, %d by crawl, not the same", typ, len(lines), len(fromCrawl[typ]))
		}
	}
	for typ := range fromCrawl {
		if fromBulk[typ] == nil {
			t.Errorf("%s only in the crawl", typ)
		}
	}
	phi := filepath.Join(tmp, "phi")
	for _, in := range []string{bulkDir, crawlDir} {
		if code, stdout, stderr := runCLI(t, in, in+"-out", phi, "--output-format", "ndjson"); code != ExitOK {
			t.Fatalf("etl %s: exit %d\n%s\n%s", in, code, stdout, stderr)
		}
	}
	tablesBulk, tablesCrawl := tableRows(t, bulkDir+"-out"), tableRows(t, crawlDir+"-out")
	if len(tablesBulk) < 10 {
		t.Fatalf("only %d tables", len(tablesBulk))
	}
	for table, rows := range tablesBulk {
		if !slices.Equal(rows, tablesCrawl[table]) {
			t.Errorf("table %s: %d rows from the bulk export, %d from the crawl, not the same", table, len(rows), len(tablesCrawl[table]))
		}
	}
}

// TestExportMode_EpicDefaultsToCrawl (issue 14 item 1): with no --export-mode, a server whose
// CapabilityStatement names Epic is crawled, and etl URL loads what the crawl got.
func TestExportMode_EpicDefaultsToCrawl(t *testing.T) {
	e := newSampleEHR(t, fhirtest.WithSoftwareName("Epic"))
	tmp := t.TempDir()
	stdout, _ := e.run(t, ExitOK, e.BaseURL+"Group/G1", filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"),
		"--export-to", filepath.Join(tmp, "export"), "--output-format", "ndjson")
	if len(e.SearchQueries("Condition")) != len(e.patients) {
		t.Errorf("%d Condition searches, want one per patient", len(e.SearchQueries("Condition")))
	}
	if rows := readLines(t, filepath.Join(tmp, "out", "patient", "patient.000.ndjson")); len(rows) != len(e.patients) {
		t.Errorf("patient table has %d rows, want %d\n%s", len(rows), len(e.patients), stdout)
	}
	if len(e.ExportRequests()) != 1 || e.ExportRequests()[0].Get("_type") != "Patient" {
		t.Errorf("the cohort's bulk export asked %v, want Patient only", e.ExportRequests())
	}
}

// TestCrawl_ExitCodes (issue 14 items 2, 3): what a crawl refuses or cannot finish says so in
// its exit code.
func TestCrawl_ExitCodes(t *testing.T) {
	e := newSampleEHR(t)
	e.setGroup(t, "Empty", nil)
	tmp := t.TempDir()
	noID := filepath.Join(tmp, "cohort.csv")
	os.WriteFile(noID, []byte("name,dob\nx,1990\n"), 0o600)
	ids := filepath.Join(tmp, "ids.txt")
	os.WriteFile(ids, []byte(strings.Join(e.patients[:3], "\n")), 0o600)
	cases := []struct {
		name string
		args []string
		want int
		says string
	}{
		{"a cohort for a bulk export", []string{"export", e.BaseURL, filepath.Join(tmp, "a"), "--export-mode", "bulk", "--id-file", ids}, ExitArgsConflict, "need --export-mode crawl"},
		{"a crawl without a cohort", []string{"export", e.BaseURL, filepath.Join(tmp, "b"), "--export-mode", "crawl"}, ExitArgsConflict, "needs a cohort"},
		{"--resume with a crawl", []string{"export", e.BaseURL + "Group/G1", filepath.Join(tmp, "c"), "--export-mode", "crawl", "--resume", "x"}, ExitArgsConflict, "bulk exports, not crawls"},
		{"a CSV without an ID column", []string{"export", e.BaseURL, filepath.Join(tmp, "d"), "--id-file", noID}, ExitArgsInvalid, "no ID or MRN column"},
		{"an empty Group", []string{"export", e.BaseURL + "Group/Empty", filepath.Join(tmp, "e"), "--export-mode", "crawl"}, ExitCohortEmpty, "no patients"},
		{"--since auto without --export-to", []string{e.BaseURL + "Group/G1", filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"), "--since", "auto"}, ExitArgsConflict, "--export-to"},
		{"a bad --since-mode", []string{"export", e.BaseURL + "Group/G1", filepath.Join(tmp, "f"), "--since-mode", "sometimes"}, ExitArgsInvalid, "--since-mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := e.run(t, tc.want, tc.args...)
			if !strings.Contains(stderr, tc.says) {
				t.Errorf("stderr does not say %q:\n%s", tc.says, stderr)
			}
		})
	}
	t.Run("a failing patient", func(t *testing.T) {
		connectRetry = fhir.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
		t.Cleanup(func() { connectRetry = fhir.RetryPolicy{} })
		e.FailSearch("Condition", e.patients[1], fhirtest.Outcome(503, "transient", "busy with "+e.patients[1]))
		defer e.FailSearch("Condition", e.patients[1], nil)
		dir := filepath.Join(tmp, "g")
		_, stderr := e.run(t, ExitCrawlPatientsFailed, "export", e.BaseURL, dir, "--id-file", ids, "--quiet")
		if !strings.Contains(stderr, "1 patients failed: 1 × Condition: HTTP 503") || !strings.Contains(stderr, "retrying") {
			t.Errorf("want the retries and the count by reason:\n%s", stderr)
		}
		for _, id := range e.patients[:3] {
			if strings.Contains(stderr, id) {
				t.Errorf("a patient id is printed (retry warnings and failures name no patient):\n%s", stderr)
			}
		}
		if code, _, stderr := runCLI(t, dir, filepath.Join(tmp, "g-out"), filepath.Join(tmp, "phi")); code != ExitBulkExportFailed ||
			!strings.Contains(stderr, "crawl that has not finished") {
			t.Errorf("etl of the unfinished crawl: exit %d\n%s", code, stderr)
		}
	})
}

// TestSinceAuto_SeriesOfExports (issue 14 item 5): --since auto keeps each export in a subfolder
// of the folder given; the first exports everything, the next (bulk or crawl alike) asks only for
// what changed since the transaction time of the last completed export of the same request, and
// says which it used; one that did not finish is gone on with by the same command.
func TestSinceAuto_SeriesOfExports(t *testing.T) {
	e := newSampleEHR(t)
	seriesDir := filepath.Join(t.TempDir(), "weekly")
	group := e.BaseURL + "Group/G1"
	_, stderr := e.run(t, ExitOK, "export", group, seriesDir, "--since", "auto", "--export-mode", "bulk")
	if !strings.Contains(stderr, "no completed export of this request in "+seriesDir) {
		t.Errorf("the first export does not say it exports everything:\n%s", stderr)
	}
	first, _ := filepath.Glob(filepath.Join(seriesDir, "*"))
	if len(first) != 1 || len(linesByType(t, first[0])["Condition"]) == 0 {
		t.Fatalf("series folder holds %v", first)
	}
	conditions := linesByType(t, first[0])["Condition"]
	var changed map[string]any
	json.Unmarshal([]byte(conditions[0]), &changed)
	changed["meta"] = map[string]any{"lastUpdated": "2099-01-01T00:00:00Z"}
	changed["clinicalStatus"] = map[string]any{"coding": []any{map[string]any{
		"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "remission"}}}
	b, _ := json.Marshal(changed)
	e.AddResources(t, b)
	e.FailSearch("Condition", e.patients[5], fhirtest.Status(400))
	args := []string{"export", group, seriesDir, "--since", "auto", "--export-mode", "crawl"}
	_, stderr = e.run(t, ExitCrawlPatientsFailed, args...)
	if !strings.Contains(stderr, "exporting what changed since") || !strings.Contains(stderr, "the transaction time of "+first[0]) {
		t.Errorf("the second export does not say where its --since comes from:\n%s", stderr)
	}
	e.FailSearch("Condition", e.patients[5], nil)
	_, stderr = e.run(t, ExitOK, args...)
	all, _ := filepath.Glob(filepath.Join(seriesDir, "*"))
	if len(all) != 2 || !strings.Contains(stderr, "going on with the unfinished export in "+all[1]) {
		t.Fatalf("the rerun did not go on with the unfinished crawl (folders %v):\n%s", all, stderr)
	}
	if got := linesByType(t, all[1]); len(got) != 1 || len(got["Condition"]) != 1 || !strings.Contains(got["Condition"][0], `remission`) {
		t.Errorf("the incremental crawl holds %v, want only the changed Condition", got)
	}
	// The whole series loads into one OUTPUT, the later copy of the Condition winning.
	tmp := t.TempDir()
	if code, stdout, stderr := runCLI(t, seriesDir, filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"),
		"--export-group", "G1", "--export-timestamp", "2026-01-01T00:00:00Z", "--output-format", "ndjson"); code != ExitOK {
		t.Fatalf("etl of the series: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rows := tableRows(t, filepath.Join(tmp, "out"))["condition"]
	changedRow := func(r string) bool { return strings.Contains(r, `"remission"`) }
	if len(rows) != len(conditions) || !slices.ContainsFunc(rows, changedRow) {
		t.Errorf("condition table: %d rows (want %d), the changed one there: %v", len(rows), len(conditions), slices.ContainsFunc(rows, changedRow))
	}
}

// TestDefaultObservationFilter (issue 14 item 6): as SMART Fetch, Observations are exported for
// the nine standard categories only, a _typeFilter in bulk mode and a category search in crawl
// mode, unless --no-default-filters (or an Observation filter of the user's).
func TestDefaultObservationFilter(t *testing.T) {
	const nine = "social-history,vital-signs,imaging,laboratory,survey,exam,procedure,therapy,activity"
	cases := []struct {
		name       string
		args       []string
		bulkFilter string // the kick-off's _typeFilter
		crawlQuery string // the category of the Observation searches
	}{
		{"default", nil, "Observation?category=" + strings.ReplaceAll(nine, ",", "%2C"), nine},
		{"--no-default-filters", []string{"--no-default-filters"}, "", ""},
		{"a filter of the user's", []string{"--type-filter", "Observation?category=laboratory"}, "Observation?category=laboratory", "laboratory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSampleEHR(t)
			tmp := t.TempDir()
			e.run(t, ExitOK, append([]string{"export", e.BaseURL + "Group/G1", filepath.Join(tmp, "bulk"), "--export-mode", "bulk", "--quiet"}, tc.args...)...)
			if got := e.ExportRequests()[0].Get("_typeFilter"); got != tc.bulkFilter {
				t.Errorf("bulk _typeFilter %q, want %q", got, tc.bulkFilter)
			}
			e.run(t, ExitOK, append([]string{"export", e.BaseURL + "Group/G1", filepath.Join(tmp, "crawl"), "--export-mode", "crawl", "--quiet"}, tc.args...)...)
			if got := e.SearchQueries("Observation")[0].Get("category"); got != tc.crawlQuery {
				t.Errorf("crawl category %q, want %q", got, tc.crawlQuery)
			}
		})
	}
}

// TestETLURL_CrawlWithFailedPatients (issue 14 item 3): etl URL stops when a crawl's patients
// failed (exit 85, nothing written), unless --allow-export-errors says to load what it got.
func TestETLURL_CrawlWithFailedPatients(t *testing.T) {
	e := newSampleEHR(t)
	e.FailSearch("Encounter", e.patients[0], fhirtest.Status(403))
	tmp := t.TempDir()
	args := []string{e.BaseURL + "Group/G1", filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"), "--export-mode", "crawl", "--quiet",
		"--output-format", "ndjson"}
	e.run(t, ExitCrawlPatientsFailed, args...)
	if _, err := os.Stat(filepath.Join(tmp, "out", "patient")); err == nil {
		t.Error("tables were written although patients failed")
	}
	e.run(t, ExitOK, append(args, "--allow-export-errors")...)
	if rows := readLines(t, filepath.Join(tmp, "out", "patient", "patient.000.ndjson")); len(rows) != len(e.patients)-1 {
		t.Errorf("patient table has %d rows, want all but the failed one (%d)", len(rows), len(e.patients)-1)
	}
}
