package hydrate_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"cumulus-etl/internal/fhir/fhirtest"
	"cumulus-etl/internal/hydrate"
)

// TestMedication_FetchesMissingOnce (issue 9 item 3): Medications that MedicationRequest and
// MedicationDispense reference but the folder lacks land in Medication.hydrated.ndjson, each
// once; contained and urn references are left alone; a missing one is a listed failure; a
// rerun fetches nothing.
func TestMedication_FetchesMissingOnce(t *testing.T) {
	s, c := setup(t)
	s.Handle("GET Medication/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if id == "gone" {
			fhirtest.Outcome(404, "not-found", "no such Medication")(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Write([]byte(`{ "resourceType": "Medication", "id": "` + id + `", "code": {"text": "drug ` + id + `"} }`))
	})
	dir := t.TempDir()
	writeFile(t, dir, "Medication.000.ndjson", `{"resourceType":"Medication","id":"have"}`)
	writeFile(t, dir, "MedicationRequest.000.ndjson",
		`{"resourceType":"MedicationRequest","id":"r1","medicationReference":{"reference":"Medication/m1"}}`,
		`{"resourceType":"MedicationRequest","id":"r2","medicationReference":{"reference":"Medication/have"}}`,
		`{"resourceType":"MedicationRequest","id":"r3","medicationReference":{"reference":"#contained"}}`,
		`{"resourceType":"MedicationRequest","id":"r4","medicationReference":{"reference":"Medication/m1"}}`,
		`{"resourceType":"MedicationRequest","id":"r5","medicationCodeableConcept":{"text":"x"}}`,
		`{"resourceType":"MedicationRequest","id":"r6","medicationReference":{"reference":"Medication/gone"}}`)
	writeFile(t, dir, "MedicationDispense.000.ndjson",
		`{"resourceType":"MedicationDispense","id":"d1","medicationReference":{"reference":"`+s.BaseURL+`Medication/m2/_history/3"}}`,
		`{"resourceType":"MedicationDispense","id":"d2","medicationReference":{"reference":"urn:uuid:1234"}}`)
	rep := run(t, s, c, dir, nil, hydrate.TaskMedication)
	st := rep.Tasks[0]
	if st.Inlined.Load() != 2 || st.AlreadyDone.Load() != 1 || st.Failed.Load() != 1 {
		t.Errorf("fetched %d, had %d, failed %d; want 2, 1, 1", st.Inlined.Load(), st.AlreadyDone.Load(), st.Failed.Load())
	}
	if f := st.Failures(); len(f) != 1 || !strings.Contains(f[0].String(), "MedicationRequest.000.ndjson:6") || !strings.Contains(f[0].Reason, "404") {
		t.Errorf("failures %v", f)
	}
	out := filepath.Join(dir, "Medication.hydrated.ndjson")
	var ids []string
	for _, l := range lines(t, out) {
		ids = append(ids, gjson.Get(l, "id").String())
		if strings.Contains(l, "\n") || strings.HasPrefix(l, "{ ") {
			t.Errorf("line not compact: %q", l)
		}
	}
	if !slices.Equal(ids, []string{"m1", "m2"}) {
		t.Errorf("hydrated ids %v, want [m1 m2]", ids)
	}
	if s.Requests("Medication/m1") != 1 {
		t.Errorf("m1 requested %d times", s.Requests("Medication/m1"))
	}
	again := run(t, s, c, dir, nil, hydrate.TaskMedication)
	if again.Tasks[0].Inlined.Load() != 0 || again.Tasks[0].AlreadyDone.Load() != 3 || s.Requests("Medication/m1") != 1 || s.Requests("Medication/m2") != 1 {
		t.Errorf("rerun fetched %d (had %d)", again.Tasks[0].Inlined.Load(), again.Tasks[0].AlreadyDone.Load())
	}
	if _, err := os.Stat(filepath.Join(dir, ".cumulus-hydrate", "Medication.journal")); !os.IsNotExist(err) {
		t.Errorf("journal left: %v", err)
	}
}
