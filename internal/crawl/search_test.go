package crawl

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestCrawl_PagingAndCount (issue 14 item 3): every search follows Bundle.link[next] to the end,
// with _count asked of the server; a server that pages by fewer still gives every resource once.
func TestCrawl_PagingAndCount(t *testing.T) {
	cases := []struct {
		name      string
		pageSize  int
		serverMax int
		wantCount string
		obsPages  int // Observation searches per patient (3 resources pass the filter)
	}{
		{"_count 1: a page per resource", 1, 50, "1", 3},
		{"server pages by 2 whatever _count asks", 0, 2, "500", 2},
		{"one page", 0, 50, "500", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, 5, fhirtest.WithPageSizes(10, tc.serverMax))
			o := options(t, newClient(t, srv), t.TempDir())
			o.PageSize = tc.pageSize
			res := mustCrawl(t, o)
			got := exported(t, o.Dir)
			if n := count(got); n != 5*perPatientFiltered || len(duplicates(got)) > 0 {
				t.Errorf("%d resources (duplicates %v), want %d", n, duplicates(got), 5*perPatientFiltered)
			}
			if n := srv.Searches("Observation"); n != 5*tc.obsPages {
				t.Errorf("%d Observation pages, want %d", n, 5*tc.obsPages)
			}
			for _, q := range srv.SearchQueries("Encounter") {
				if q.Get("_count") != tc.wantCount {
					t.Fatalf("_count=%q, want %q", q.Get("_count"), tc.wantCount)
				}
			}
			if res.Requests < int64(srv.Searches("Observation")) {
				t.Errorf("%d requests counted", res.Requests)
			}
		})
	}
}

// TestCrawl_CompartmentParameterPerType (issue 14 item 3): each type is searched by the
// parameter the CapabilityStatement lists for the patient compartment (patient, else subject),
// Patient by _id; a type whose statement lists neither is left out and said so; a type the
// server does not list at all is left out.
func TestCrawl_CompartmentParameterPerType(t *testing.T) {
	types := searchTypes(true)
	for i := range types {
		switch types[i].Type {
		case "DocumentReference":
			types[i].Params = []string{"subject"} // no patient: subject it is
		case "MedicationRequest":
			types[i].Params = []string{"status"} // nothing to search a patient's by
		}
	}
	types = slices.DeleteFunc(types, func(st fhirtest.SearchType) bool { return st.Type == "Immunization" })
	srv := newServer(t, 3, fhirtest.WithSearchTypes(types...))
	o := options(t, newClient(t, srv), t.TempDir())
	mustCrawl(t, o)
	got := exported(t, o.Dir)
	if len(got["DocumentReference"]) != 3 || len(got["AllergyIntolerance"]) != 3 || len(got["Patient"]) != 3 {
		t.Errorf("found %d DocumentReference, %d AllergyIntolerance, %d Patient; want 3 each",
			len(got["DocumentReference"]), len(got["AllergyIntolerance"]), len(got["Patient"]))
	}
	for typ, param := range map[string]string{"DocumentReference": "subject", "AllergyIntolerance": "patient", "Patient": "_id"} {
		if q := srv.SearchQueries(typ); len(q) == 0 || !q[0].Has(param) {
			t.Errorf("%s searched with %v, want %s", typ, q, param)
		}
	}
	if len(got["MedicationRequest"]) != 0 || srv.Searches("MedicationRequest") != 0 || srv.Searches("Immunization") != 0 {
		t.Error("types that cannot be searched by patient were searched")
	}
}

// TestCrawl_429Bursts (issue 14 item 3, ST-05): a burst of 429s with Retry-After is waited out
// (the client's retries) and slows the crawl down; nothing is lost or doubled.
func TestCrawl_429Bursts(t *testing.T) {
	srv := newServer(t, 20)
	burst := make([]http.HandlerFunc, 5)
	for i := range burst {
		burst[i] = fhirtest.RetryAfter(http.StatusTooManyRequests, "2")
	}
	srv.Fail("Observation", burst...)
	srv.Fail("Condition", burst...)
	o := options(t, newClient(t, srv), t.TempDir())
	mustCrawl(t, o)
	got := exported(t, o.Dir)
	if n := count(got); n != 20*perPatientFiltered || len(duplicates(got)) > 0 {
		t.Errorf("%d resources (duplicates %v), want %d", n, duplicates(got), 20*perPatientFiltered)
	}
	waited := 0
	for _, w := range srv.Waits() {
		if w == 2*time.Second {
			waited++
		}
	}
	if waited != 10 {
		t.Errorf("waited Retry-After %d times, want 10", waited)
	}
}

// TestCrawl_AdaptiveConcurrency (issue 14 item 3): against a server that refuses more than two
// searches at once, the crawl backs off (429s halve its limit) and gets everything.
func TestCrawl_AdaptiveConcurrency(t *testing.T) {
	srv := newServer(t, 30, fhirtest.WithMaxInFlight(2), fhirtest.WithSearchDelay(5*time.Millisecond))
	copts := srv.Options(append(crawlTypes, "Group")...)
	copts.Retry.MaxAttempts = 100 // many tries, each waiting 2 ms instead of the Retry-After second
	var waits atomic.Int64
	copts.Sleep = func(ctx context.Context, _ time.Duration) error {
		waits.Add(1)
		time.Sleep(2 * time.Millisecond)
		return ctx.Err()
	}
	c := newClientWith(t, copts)
	o := options(t, c, t.TempDir())
	o.Concurrency, o.MaxConcurrency = 8, 8
	mustCrawl(t, o)
	if n := count(exported(t, o.Dir)); n != 30*perPatientFiltered {
		t.Errorf("%d resources, want %d", n, 30*perPatientFiltered)
	}
	if waits.Load() == 0 {
		t.Error("the server never throttled: the test proves nothing")
	}
}

// TestCrawl_OnePatientFails (issue 14 item 3): a patient whose searches fail after retries is
// listed with the reason (the server's text stays out of the message), its lines already
// written are taken back, the others are crawled, the folder is unfinished; the rerun searches
// that patient only.
func TestCrawl_OnePatientFails(t *testing.T) {
	srv := newServer(t, 8)
	srv.FailSearch("Observation", "p003", fhirtest.Outcome(http.StatusInternalServerError, "exception", "db down for Jane Doe"))
	o := options(t, newClient(t, srv), t.TempDir())
	res, err := Crawl(t.Context(), o)
	if !errorsIs(err, ErrPatientsFailed) || res == nil || res.Failed != 1 {
		t.Fatalf("err %v, result %+v; want one failed patient", err, res)
	}
	if strings.Contains(err.Error(), "Jane Doe") || !strings.Contains(err.Error(), "Observation: HTTP 500") {
		t.Errorf("message %q: want the type and status, never the server's text", err)
	}
	list, _ := os.ReadFile(filepath.Join(o.Dir, failedListName))
	if !strings.Contains(string(list), "patient\tp003\tObservation: HTTP 500") {
		t.Errorf("the list says %q", list)
	}
	got := exported(t, o.Dir)
	if n := count(got); n != 7*perPatientFiltered || slices.Contains(got["Encounter"], "enc-p003-0") {
		t.Errorf("%d resources (p003's Encounters there: %v), want %d, none of p003's", n, slices.Contains(got["Encounter"], "enc-p003-0"), 7*perPatientFiltered)
	}
	if err := bulk.CheckFinished(o.Dir); !errorsIs(err, bulk.ErrUnfinished) {
		t.Errorf("CheckFinished: %v, want unfinished", err)
	}
	srv.FailSearch("Observation", "p003", nil)
	before := srv.Searches("Encounter")
	res = mustCrawl(t, o)
	if srv.Searches("Encounter") != before+1 || res.Kept != 7 {
		t.Errorf("rerun: %d Encounter searches (want 1), %d patients kept (want 7)", srv.Searches("Encounter")-before, res.Kept)
	}
	if got := exported(t, o.Dir); count(got) != 8*perPatientFiltered || len(duplicates(got)) > 0 {
		t.Errorf("after the rerun %d resources (duplicates %v), want %d", count(got), duplicates(got), 8*perPatientFiltered)
	}
	if _, err := os.Stat(filepath.Join(o.Dir, failedListName)); err == nil {
		t.Error("the failure list stayed after a rerun without failures")
	}
}

// TestCrawl_EveryPatientFailing: when the first patients all fail, the crawl stops instead of
// failing the whole cohort one patient at a time.
func TestCrawl_EveryPatientFailing(t *testing.T) {
	srv := newServer(t, 80)
	for _, id := range patientIDs(80) {
		srv.FailSearch("", id, fhirtest.Status(http.StatusBadRequest))
	}
	o := options(t, newClient(t, srv), t.TempDir())
	o.Concurrency, o.MaxConcurrency = 1, 1
	_, err := Crawl(t.Context(), o)
	if !errorsIs(err, ErrCrawlFailed) || !strings.Contains(err.Error(), "all failed") {
		t.Errorf("err %v, want the crawl to stop", err)
	}
}

// TestCrawl_EpicCapabilityStatement (issue 14 items 3, 5, 6): with Epic, _count is left to the
// server, EpisodeOfCare is left out (Epic needs a type), the default Observation filter has
// Epic's six categories, and since-mode auto is created (no _lastUpdated).
func TestCrawl_EpicCapabilityStatement(t *testing.T) {
	srv := newServer(t, 4, fhirtest.WithSoftwareName("Epic"), fhirtest.WithSearchTypes(searchTypes(false)...))
	c := newClient(t, srv)
	o := options(t, c, t.TempDir())
	o.Types = append(slices.Clone(crawlTypes), "EpisodeOfCare")
	mode, why, err := ChooseSinceMode("auto", c.Capabilities(), false)
	if err != nil || mode != SinceCreated || !strings.Contains(why, "Epic") {
		t.Errorf("since mode %q (%s, %v), want created", mode, why, err)
	}
	mustCrawl(t, withRequest(t, o))
	obs := srv.SearchQueries("Observation")
	if len(obs) == 0 || obs[0].Get("category") != "social-history,vital-signs,imaging,laboratory,survey,exam" || obs[0].Has("_count") {
		t.Errorf("Observation searched with %v", obs)
	}
	if srv.Searches("EpisodeOfCare") != 0 {
		t.Error("EpisodeOfCare searched on Epic")
	}
	if got := exported(t, o.Dir); count(got) != 4*perPatientFiltered {
		t.Errorf("%d resources, want %d", count(got), 4*perPatientFiltered)
	}
}

// TestCrawl_SearchOutcomesReported (issue 14 item 3): OperationOutcomes sent as
// search.mode=outcome entries land in error/OperationOutcome.NNN.ndjson, are tallied without
// their text, and fail the export when their severity is error, as a bulk export's do.
func TestCrawl_SearchOutcomesReported(t *testing.T) {
	for _, severity := range []string{"warning", "error"} {
		t.Run(severity, func(t *testing.T) {
			srv := newServer(t, 3)
			srv.AddSearchOutcome("Condition", severity, "processing")
			o := options(t, newClient(t, srv), t.TempDir())
			res, err := Crawl(t.Context(), o)
			if severity == "error" != errorsIs(err, bulk.ErrServerReportedErrors) {
				t.Fatalf("err %v", err)
			}
			if severity == "warning" && (len(res.Messages) == 0 || !strings.Contains(res.Messages[0], `warning "processing"`)) {
				t.Errorf("messages %q", res.Messages)
			}
			files, _ := filepath.Glob(filepath.Join(o.Dir, "error", "OperationOutcome.*.ndjson"))
			outcomes := 0
			for _, f := range files {
				outcomes += len(readLines(t, f))
			}
			if outcomes != 3 {
				t.Errorf("%d outcomes in error/, want 3", outcomes)
			}
			if err := bulk.CheckFinished(o.Dir); err != nil {
				t.Errorf("the crawl is finished: %v", err)
			}
		})
	}
}

// TestCrawl_ResourceOfTwoPatientsWrittenOnce (issue 14 item 3): a resource that searches of
// several patients return is written once: by its own patient when that one is in the cohort,
// else once at the end; an id-less one once; a type nobody asked for not at all.
func TestCrawl_ResourceOfTwoPatientsWrittenOnce(t *testing.T) {
	srv := newServer(t, 6)
	srv.AddSearchEntry("Observation", "match", resource(map[string]any{"resourceType": "Observation", "id": "shared-p001",
		"subject": map[string]any{"reference": "Patient/p001"}}))
	srv.AddSearchEntry("Observation", "match", resource(map[string]any{"resourceType": "Observation", "id": "outsider",
		"subject": map[string]any{"reference": "https://elsewhere.example/fhir/Patient/zz9"}}))
	srv.AddSearchEntry("Observation", "match", resource(map[string]any{"resourceType": "Observation", "status": "final"}))
	srv.AddSearchEntry("Condition", "include", resource(map[string]any{"resourceType": "Practitioner", "id": "dr"}))
	o := options(t, newClient(t, srv), t.TempDir())
	mustCrawl(t, o)
	got := exported(t, o.Dir)
	if d := duplicates(got); len(d) > 0 {
		t.Errorf("written more than once: %v", d)
	}
	for _, id := range []string{"shared-p001", "outsider", ""} {
		if !slices.Contains(got["Observation"], id) {
			t.Errorf("Observation %q missing", id)
		}
	}
	if n := len(got["Observation"]); n != 6*3+3 {
		t.Errorf("%d Observations, want %d", n, 6*3+3)
	}
	if len(got["Practitioner"]) != 0 {
		t.Error("a Practitioner nobody asked for was written")
	}
}

func TestPatientReference(t *testing.T) {
	for ref, want := range map[string]string{"Patient/1": "1", "https://h/fhir/Patient/a-b/_history/3": "a-b",
		"Group/1": "", "urn:uuid:x": "", "MyPatient/1": "", "": ""} {
		if got := (reference{Reference: ref}).patientID(); got != want {
			t.Errorf("%q: %q, want %q", ref, got, want)
		}
	}
}
