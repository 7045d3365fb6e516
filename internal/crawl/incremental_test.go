package crawl

import (
	"slices"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/fhir"
)

// TestCrawl_IncrementalUpdatedSince (issue 14 item 5): with a window starting at the first
// crawl's transaction time, patients of the previous export's cohort are searched with
// _lastUpdated=gt..., so only what changed comes; a patient new to the cohort gets its whole
// history.
func TestCrawl_IncrementalUpdatedSince(t *testing.T) {
	srv := newServer(t, 5)
	srv.AddResources(t, group("G1", patientIDs(4))) // p004 is not in the cohort yet
	c := newClient(t, srv)
	first := options(t, c, t.TempDir())
	res1 := mustCrawl(t, first)
	if want := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC); !res1.TransactionTime.Equal(want) {
		t.Errorf("transaction time %v: want the newest lastUpdated seen, %v, older than the crawl", res1.TransactionTime, want)
	}
	srv.AddResources(t, group("G1", patientIDs(5)), resource(map[string]any{"resourceType": "Condition", "id": "cond-p001",
		"meta": map[string]any{"lastUpdated": "2024-06-01T00:00:00Z"}, "subject": map[string]any{"reference": "Patient/p001"}}))
	before := len(srv.SearchQueries("Encounter"))
	second := options(t, c, t.TempDir())
	second.Window = Window{Since: res1.TransactionTime.Format(time.RFC3339Nano), Mode: SinceUpdated}
	second.PreviousExport = first.Dir
	mustCrawl(t, withRequest(t, second))
	got := exported(t, second.Dir)
	if !slices.Equal(got["Condition"], []string{"cond-p001", "cond-p004"}) || len(got["Patient"]) != 1 || count(got) != 1+perPatientFiltered {
		t.Errorf("got %v: want the changed Condition and all of p004's %d resources", got, perPatientFiltered)
	}
	for _, q := range srv.SearchQueries("Encounter")[before:] {
		if q.Get("patient") == "p004" == q.Has("_lastUpdated") {
			t.Errorf("Encounter search %v: the new patient gets everything, the others _lastUpdated", q)
		}
	}
}

// TestCrawl_IncrementalCreatedSince (issue 14 item 5): for a server without _lastUpdated, created
// mode searches each type's creation date (Observation issued, Condition recorded-date, ...);
// types without one (Encounter, Immunization, Patient) come whole.
func TestCrawl_IncrementalCreatedSince(t *testing.T) {
	srv := newServer(t, 3, withoutLastUpdated()...)
	srv.AddResources(t, resource(map[string]any{"resourceType": "Observation", "id": "obs-new", "issued": "2024-07-01T00:00:00Z",
		"subject":  map[string]any{"reference": "Patient/p002"},
		"category": []any{map[string]any{"coding": []any{map[string]any{"code": "laboratory"}}}}}))
	o := options(t, newClient(t, srv), t.TempDir())
	o.Window = Window{Since: "2024-05-01T00:00:00Z", Mode: SinceCreated}
	mustCrawl(t, withRequest(t, o))
	got := exported(t, o.Dir)
	if !slices.Equal(got["Observation"], []string{"obs-new"}) || len(got["Condition"]) != 0 {
		t.Errorf("Observations %v, Conditions %v: want only the one issued after --since", got["Observation"], got["Condition"])
	}
	if len(got["Encounter"]) != 6 || len(got["Immunization"]) != 3 || len(got["Patient"]) != 3 {
		t.Errorf("%d Encounters, %d Immunizations, %d Patients: types without a creation date come whole",
			len(got["Encounter"]), len(got["Immunization"]), len(got["Patient"]))
	}
	for _, q := range srv.SearchQueries("Observation") {
		if !strings.HasPrefix(q.Get("issued"), "gt2024-05-01") || q.Has("_lastUpdated") {
			t.Errorf("Observation searched with %v", q)
		}
	}
}

// TestChooseSinceMode_BulkExportsUseSince (KO-11): every Bulk Data server supports the kick-off's
// _since, so auto picks updated for a bulk export whatever the server's search parameters (the
// SMART reference server lists Patient's without _lastUpdated, and ignored the creation-date
// filters sent instead); a crawl of such a server, and Epic either way, compare creation dates.
func TestChooseSinceMode_BulkExportsUseSince(t *testing.T) {
	noLastUpdated := fhir.Capabilities{SearchParams: map[string][]string{"Patient": {"_id", "name"}}}
	epic := fhir.Capabilities{SoftwareName: "Epic"}
	tests := []struct {
		name      string
		requested string
		caps      fhir.Capabilities
		bulk      bool
		want      SinceMode
	}{
		{"bulk export, no _lastUpdated search", "auto", noLastUpdated, true, SinceUpdated},
		{"crawl, no _lastUpdated search", "auto", noLastUpdated, false, SinceCreated},
		{"bulk export, Epic", "auto", epic, true, SinceCreated},
		{"crawl, Epic", "", epic, false, SinceCreated},
		{"crawl, _lastUpdated searchable", "auto", fhir.Capabilities{}, false, SinceUpdated},
		{"created as asked, bulk", "created", fhir.Capabilities{}, true, SinceCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why, err := ChooseSinceMode(tt.requested, tt.caps, tt.bulk)
			if err != nil || got != tt.want {
				t.Errorf("ChooseSinceMode = %q (%s, %v), want %q", got, why, err, tt.want)
			}
		})
	}
}
