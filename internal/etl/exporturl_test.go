package etl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11, item 3: export_url keeps scheme, host, path, _type, _since and _until only.
func TestExportURLKeepsOnlyWhichDataWasAskedFor(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Cumulus's own example is unchanged",
			"https://ehr.example.org/fhir/Group/MyGroup/$export?_type=Patient",
			"https://ehr.example.org/fhir/Group/MyGroup/$export?_type=Patient"},
		{"a patient parameter goes",
			"https://ehr.example.org/fhir/Group/g/$export?_type=Patient,Condition&patient=Patient/JaneQuinn-4471&_since=2024-01-01T00:00:00Z",
			"https://ehr.example.org/fhir/Group/g/$export?_type=Patient,Condition&_since=2024-01-01T00:00:00Z"},
		{"a _typeFilter with an identifier goes",
			"https://ehr.example.org/fhir/Patient/$export?_typeFilter=Patient%3Fidentifier%3DMRN%7C4471&_until=2024-06-01",
			"https://ehr.example.org/fhir/Patient/$export?_until=2024-06-01"},
		{"user info and fragment go",
			"https://jane:secret@ehr.example.org:8443/fhir/$export?_elements=name#Jane",
			"https://ehr.example.org:8443/fhir/$export"},
		{"a _type that is not resource types goes",
			"https://ehr.example.org/fhir/$export?_type=Patient%20Jane%20Quinn",
			"https://ehr.example.org/fhir/$export"},
		{"a _since that is not a date goes",
			"https://ehr.example.org/fhir/$export?_since=Jane",
			"https://ehr.example.org/fhir/$export"},
		{"no URL", "", ""},
		{"not an absolute URL", "Group/1/$export?patient=Patient/4471", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactExportURL(tt.in); got != tt.want {
				t.Errorf("redactExportURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// The completion table and job_config.json both carry the redacted URL, and job_config's
// dir_input too when INPUT was a URL.
func TestRun_ExportURLIsRedactedInCompletionAndJobConfig(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Encounter.ndjson": `{"resourceType":"Encounter","id":"e1","status":"finished"}` + "\n",
	})
	const raw = "https://ehr.example.org/fhir/Group/g1/$export?_type=Encounter&patient=Patient/JaneQuinn-4471"
	const want = "https://ehr.example.org/fhir/Group/g1/$export?_type=Encounter"
	f.cfg.ExportURL, f.cfg.InputDescription = raw, raw
	rep, err := f.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if comp := f.rows(t, completionTable); len(comp) != 1 || comp[0]["export_url"] != want {
		t.Errorf("etl__completion = %v, want export_url %q", comp, want)
	}
	data, err := os.ReadFile(filepath.Join(rep.JobDir, "job_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var jc jobConfig
	if err := json.Unmarshal(data, &jc); err != nil {
		t.Fatal(err)
	}
	if jc.ExportURL != want || jc.DirInput != want || strings.Contains(string(data), "JaneQuinn") {
		t.Errorf("job_config.json export_url %q, dir_input %q; want both %q and no patient", jc.ExportURL, jc.DirInput, want)
	}
}
