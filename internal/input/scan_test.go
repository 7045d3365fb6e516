package input

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"cumulus-etl/internal/input/inputtest"
)

func TestTypeFromName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Patient.ndjson", "Patient"},
		{"Patient.000.ndjson", "Patient"},
		{"1.Patient.ndjson", "Patient"},
		{"Patient.labs.ndjson", "Patient"},
		{"1.Condition.x.ndjson.gz", "Condition"},
		{"Observation.jsonl", "Observation"},
		{"Observation.JSONL.GZ", "Observation"},
		{"PractitionerRole.ndjson", "PractitionerRole"},
		{"Patient.Patient.ndjson", "Patient"},
		{"Patient.Condition.ndjson", ""}, // ambiguous: read the first line
		{"patient.ndjson", ""},           // type names are case-sensitive
		{"Condition20240614-112115.ndjson", ""},
		{"eNZwsy9bU7LX8nBB.RJXkpA3.ndjson", ""},
		{"DomainResource.ndjson", ""}, // abstract, not a resource type
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := typeFromName(tt.name); got != tt.want {
				t.Errorf("typeFromName(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestResourceTypeListIsR4(t *testing.T) {
	if n := len(r4ResourceTypes()); n != 146 {
		t.Errorf("%d R4 resource types, want 146", n)
	}
	for _, name := range []string{"Patient", "SubstanceNucleicAcid", "VisionPrescription", "Account"} {
		if !isResourceType(name) {
			t.Errorf("%s is not in the list", name)
		}
	}
}

const (
	patient   = `{"resourceType":"Patient","id":"p1"}`
	condition = `{"resourceType":"Condition","id":"c1"}`
)

func TestScanFileRules(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		resources map[string][]string // type → relative paths
		deleted   []string
		errors    []string
		wantErr   string
	}{
		{
			name:      "type from file name wins over content",
			files:     map[string]string{"Patient.ndjson": lines(condition)},
			resources: map[string][]string{"Patient": {"Patient.ndjson"}},
		},
		{
			name:      "type from first line when the name has none",
			files:     map[string]string{"data.ndjson": lines(condition, patient)},
			resources: map[string][]string{"Condition": {"data.ndjson"}},
		},
		{
			name:      "first line read through gzip, after blank lines",
			files:     map[string]string{"Condition20240614.jsonl.gz": "\n \n" + lines(`{"id":"x","resourceType":"Observation"}`)},
			resources: map[string][]string{"Observation": {"Condition20240614.jsonl.gz"}},
		},
		{
			name:      "ambiguous name falls back to first line",
			files:     map[string]string{"Patient.Condition.ndjson": lines(condition)},
			resources: map[string][]string{"Condition": {"Patient.Condition.ndjson"}},
		},
		{
			name:      "empty file without type in the name is skipped",
			files:     map[string]string{"empty.ndjson": "", "blank.ndjson": "\n\n", "Patient.ndjson": lines(patient)},
			resources: map[string][]string{"Patient": {"Patient.ndjson"}},
		},
		{
			name:      "empty file with type in the name is listed",
			files:     map[string]string{"Patient.000.ndjson": ""},
			resources: map[string][]string{"Patient": {"Patient.000.ndjson"}},
		},
		{
			name: "only ndjson and jsonl extensions are data",
			files: map[string]string{
				"README.md": "x", "manifest.json": "x", "Patient.ndjson.bak": "x", "Patient.ndjson.zip": "x",
				"Patient.NDJSON": lines(patient), "Patient.001.ndjson.gz": lines(patient),
			},
			resources: map[string][]string{"Patient": {"Patient.001.ndjson.gz", "Patient.NDJSON"}},
		},
		{
			name: "hidden and temporary files and folders ignored",
			files: map[string]string{
				".tmp-Patient.ndjson-123": "x", ".hidden.ndjson": "x", ".git/Patient.ndjson": "x",
				".tmp-out-1/Patient.ndjson": "x", "Patient.ndjson": lines(patient),
			},
			resources: map[string][]string{"Patient": {"Patient.ndjson"}},
		},
		{
			name: "export logs ignored at any depth",
			files: map[string]string{
				"log.ndjson": "not json", "log.2024.ndjson": "x", "old/log.ndjson": "x", "Patient.ndjson": lines(patient),
			},
			resources: map[string][]string{"Patient": {"Patient.ndjson"}},
		},
		{
			name: "recursive, each list sorted by path",
			files: map[string]string{
				"b/Patient.ndjson": lines(patient), "a/x/Patient.000.ndjson": lines(patient),
				"a-Patient.ndjson": lines(patient), "a/Condition.ndjson": lines(condition),
			},
			resources: map[string][]string{
				"Patient":   {"a-Patient.ndjson", "a/x/Patient.000.ndjson", "b/Patient.ndjson"},
				"Condition": {"a/Condition.ndjson"},
			},
		},
		{
			name: "deleted and error folders at any depth",
			files: map[string]string{
				"deleted/Bundle.000.ndjson":            lines(`{"resourceType":"Bundle"}`),
				"site1/deleted/Patient.ndjson":         lines(`{"resourceType":"Bundle"}`),
				"error/OperationOutcome.000.ndjson":    lines(`{"resourceType":"OperationOutcome"}`),
				"site1/error/1.ndjson":                 lines(`{"resourceType":"OperationOutcome"}`),
				"site1/Patient.ndjson":                 lines(patient),
				"deleted.ndjson":                       lines(condition), // a file, not a folder
				"error/deleted/Bundle.001.ndjson":      lines(`{"resourceType":"Bundle"}`),
				"deleted/error/OperationOutcome.jsonl": lines(`{"resourceType":"OperationOutcome"}`),
			},
			resources: map[string][]string{"Patient": {"site1/Patient.ndjson"}, "Condition": {"deleted.ndjson"}},
			deleted:   []string{"deleted/Bundle.000.ndjson", "error/deleted/Bundle.001.ndjson", "site1/deleted/Patient.ndjson"},
			errors:    []string{"deleted/error/OperationOutcome.jsonl", "error/OperationOutcome.000.ndjson", "site1/error/1.ndjson"},
		},
		{
			name:    "first line without resourceType is an error naming the file",
			files:   map[string]string{"sub/data.ndjson": "\n" + lines(`{"id":"1"}`)},
			wantErr: "data.ndjson:2: no resourceType",
		},
		{
			name:    "first line that is not JSON is an error",
			files:   map[string]string{"data.ndjson": lines(`{"resourceType":`)},
			wantErr: "data.ndjson:1: reading resource type",
		},
		{
			name:    "first line that is not an object is an error",
			files:   map[string]string{"data.ndjson": lines(`["Patient"]`)},
			wantErr: "data.ndjson:1: reading resource type: not a JSON object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			exp, err := scanDir(t, root)
			if err == nil && len(exp.Unknown) > 0 {
				err = exp.Unknown[0] // a file of unknown type is reported, not fatal to the scan
			}
			if checkErr(t, err, tt.wantErr) {
				return
			}
			got := map[string][]string{}
			for typ, files := range exp.Resources {
				got[typ] = rel(t, root, files)
				for _, f := range files {
					if f.ResourceType != typ {
						t.Errorf("%s listed under %s has ResourceType %s", f.Path, typ, f.ResourceType)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.resources) {
				t.Errorf("Resources = %v, want %v", got, tt.resources)
			}
			if got := rel(t, root, exp.Deleted); !reflect.DeepEqual(got, tt.deleted) {
				t.Errorf("Deleted = %v, want %v", got, tt.deleted)
			}
			if got := rel(t, root, exp.Errors); !reflect.DeepEqual(got, tt.errors) {
				t.Errorf("Errors = %v, want %v", got, tt.errors)
			}
		})
	}
}

func TestScanFollowsFileSymlinks(t *testing.T) {
	root := writeTree(t, map[string]string{"real/data.ndjson": lines(patient)})
	if err := os.Symlink(filepath.Join(root, "real", "data.ndjson"), filepath.Join(root, "Condition.ndjson")); err != nil {
		t.Skip("symlinks not supported:", err)
	}
	exp, err := scanDir(t, root)
	if err != nil {
		t.Fatal(err)
	}
	if got := rel(t, root, exp.Resources["Condition"]); !reflect.DeepEqual(got, []string{"Condition.ndjson"}) {
		t.Errorf("Condition files = %v", got)
	}
	if size := exp.Resources["Condition"][0].Size; size != int64(len(lines(patient))) {
		t.Errorf("Size = %d, want the target's size", size)
	}
}

func TestScanRootErrors(t *testing.T) {
	root := writeTree(t, map[string]string{"Patient.ndjson": lines(patient)})
	for name, path := range map[string]string{
		"missing folder":   filepath.Join(root, "nope"),
		"file, not folder": filepath.Join(root, "Patient.ndjson"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := scanDir(t, path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name %s", err, path)
			}
		})
	}
}

func TestScanSynthea60(t *testing.T) {
	data := inputtest.Synthea60(t)
	exp, err := scanDir(t, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AllergyIntolerance", "CarePlan", "CareTeam", "Claim", "Condition", "Device", "DiagnosticReport",
		"Encounter", "ExplanationOfBenefit", "ImagingStudy", "Immunization", "MedicationRequest",
		"Observation", "Organization", "Patient", "Practitioner", "Procedure",
	}
	if len(exp.Resources) != len(want) {
		t.Errorf("%d resource types, want %d", len(exp.Resources), len(want))
	}
	for _, typ := range want {
		files := exp.Resources[typ]
		if len(files) != 1 || files[0].Path != filepath.Join(data, typ+".000.ndjson.gz") {
			t.Errorf("%s files = %+v", typ, files)
			continue
		}
		fi, err := os.Stat(files[0].Path)
		if err != nil || fi.Size() != files[0].Size {
			t.Errorf("%s size = %d, stat %v", typ, files[0].Size, err)
		}
	}
	if len(exp.Deleted) != 0 || len(exp.Errors) != 0 {
		t.Errorf("Deleted = %v, Errors = %v, want none", exp.Deleted, exp.Errors)
	}
	if exp.Log != nil || !errors.Is(exp.LogErr, ErrNoLog) {
		t.Errorf("Log = %+v, LogErr = %v, want ErrNoLog", exp.Log, exp.LogErr)
	}
}

// TestScan_LinkedFileIsReadOnce: SMART Fetch's managed folders keep each export in a subfolder and
// link the current files from the top level; each file must be read once, not twice.
func TestScan_LinkedFileIsReadOnce(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "001.2024-01-01")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "Condition.000.ndjson"), []byte(`{"resourceType":"Condition","id":"c1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("001.2024-01-01", "Condition.000.ndjson"), filepath.Join(root, "Condition.000.ndjson")); err != nil {
		t.Fatal(err)
	}
	exp, err := scanDir(t, root)
	if err != nil {
		t.Fatal(err)
	}
	if files := exp.Resources["Condition"]; len(files) != 1 {
		t.Errorf("Condition files = %v, want one", files)
	}
}

// TestScan_Item5_FollowsLinkedRootAndFoldersOnce: issue 10 item 5. A linked root and linked
// subfolders are read; a folder linked twice is read once, and a link back up the tree ends.
func TestScan_Item5_FollowsLinkedRootAndFoldersOnce(t *testing.T) {
	tmp := t.TempDir()
	put := func(dir string, files map[string]string) {
		for rel, content := range files {
			path := filepath.Join(tmp, dir, rel)
			os.MkdirAll(filepath.Dir(path), 0o700)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("export", map[string]string{"Patient.ndjson": lines(patient), "sub/x.txt": ""})
	put("other", map[string]string{"Condition.ndjson": lines(condition), "error/OperationOutcome.ndjson": ""})
	for link, target := range map[string]string{
		"latest":              "export",
		"export/a-conditions": "../other",
		"export/b-conditions": "../other",
		"export/sub/loop":     "..",
		"export/sub/self":     ".",
		"export/broken":       "nowhere",
	} {
		if err := os.Symlink(target, filepath.Join(tmp, link)); err != nil {
			t.Skip("symlinks not supported:", err)
		}
	}
	root := filepath.Join(tmp, "latest")
	exp, err := scanDir(t, root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for typ, files := range exp.Resources {
		got[typ] = rel(t, root, files)
	}
	want := map[string][]string{"Patient": {"Patient.ndjson"}, "Condition": {"a-conditions/Condition.ndjson"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resources = %v, want %v", got, want)
	}
	if errs := rel(t, root, exp.Errors); !reflect.DeepEqual(errs, []string{"a-conditions/error/OperationOutcome.ndjson"}) {
		t.Errorf("Errors = %v", errs)
	}
	if len(exp.NotRead) != 1 || !strings.Contains(exp.NotRead[0], "broken: a link to nothing") {
		t.Errorf("NotRead = %q, want the broken link named", exp.NotRead)
	}
}

// TestScan_Item15_JSONFilesAreNamed: issue 10 item 15. A *.json file is never silently
// skipped: one whose name holds a resource type is left out as an Unknown (which fails the
// run), any other is listed in NotRead.
func TestScan_Item15_JSONFilesAreNamed(t *testing.T) {
	root := writeTree(t, map[string]string{
		"Patient.ndjson": lines(patient), "manifest.json": "{}", "Condition.000.json": condition, "sub/Observation.JSON.gz": "",
	})
	exp, err := scanDir(t, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.NotRead) != 1 || !strings.HasSuffix(exp.NotRead[0], "manifest.json: a JSON file, not ndjson") {
		t.Errorf("NotRead = %q", exp.NotRead)
	}
	var unknown []string
	for _, err := range exp.Unknown {
		unknown = append(unknown, err.Error())
	}
	if len(unknown) != 2 || !strings.Contains(unknown[0], "Condition.000.json: a JSON file, not ndjson") ||
		!strings.Contains(unknown[1], "Observation.JSON.gz") || !strings.Contains(unknown[1], "one Observation per line") {
		t.Errorf("Unknown = %q", unknown)
	}
}
