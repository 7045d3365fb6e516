package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/cli/clitest"
)

// End-to-end tests of issue 10's folder rules (items 4, 5, 6, 10, 11, 16), run on the built
// binary as a user would.

var withTime = []string{"--export-group", "g", "--export-timestamp", "2024-01-01T00:00:00Z"}

const (
	patientRow   = `{"resourceType":"Patient","id":"p1","gender":"female"}`
	conditionRow = `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}}`
)

// writeFiles creates files (path relative to root → content) and returns root.
func writeFiles(t *testing.T, root string, files map[string]string) string {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// etl runs `cumulus-etl IN OUT PHI withTime... extra...` (ndjson output, which the tests read)
// and checks the exit code.
func etl(t *testing.T, want int, args ...string) clitest.Result {
	t.Helper()
	r := clitest.Run(t, "", append(append(args, withTime...), "--output-format", "ndjson")...)
	if r.Code != want {
		t.Fatalf("cumulus-etl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, want, r.Stdout, r.Stderr)
	}
	return r
}

// codebooksUnder lists every codebook.json below dir.
func codebooksUnder(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "codebook.json" {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// TestItem4_SymlinksCannotPutPHIInsideOutput: every containment check compares real paths, so
// a link (to OUTPUT, to a folder inside it, or to a place not created yet) cannot put the PHI
// folder, --errors-to or --export-to inside OUTPUT, nor OUTPUT inside INPUT (exit 22, nothing
// written).
func TestItem4_SymlinksCannotPutPHIInsideOutput(t *testing.T) {
	tmp := t.TempDir()
	in := writeFiles(t, filepath.Join(tmp, "in"), map[string]string{"Patient.ndjson": patientRow + "\n"})
	out := filepath.Join(tmp, "x", "o")
	os.MkdirAll(out, 0o755)
	symlink(t, out, filepath.Join(tmp, "olink"))                             // a second name for OUTPUT
	symlink(t, filepath.Join(out, "phi"), filepath.Join(tmp, "plink"))       // a PHI folder inside OUTPUT, not made yet
	symlink(t, filepath.Join(tmp, "x"), filepath.Join(tmp, "xlink"))         // an ancestor of OUTPUT
	symlink(t, filepath.Join(in, "tables"), filepath.Join(tmp, "in-tables")) // OUTPUT inside INPUT
	cases := []struct {
		name string
		args []string
	}{
		{"OUTPUT given as a link, PHI inside the real OUTPUT", []string{in, filepath.Join(tmp, "olink"), filepath.Join(out, "phi")}},
		{"PHI given as a link into OUTPUT", []string{in, out, filepath.Join(tmp, "plink")}},
		{"PHI below a link to OUTPUT's parent, not made yet", []string{in, out, filepath.Join(tmp, "xlink", "o", "new", "phi")}},
		{"PHI reached through link/..", []string{in, out, tmp + "/olink/../o/phi"}}, // not Join: it would drop olink/..
		{"--errors-to given as a link into OUTPUT", []string{in, out, filepath.Join(tmp, "phi"), "--errors-to", filepath.Join(tmp, "plink")}},
		{"--export-to below a link to OUTPUT", []string{"http://127.0.0.1:1/fhir", out, filepath.Join(tmp, "phi"), "--export-to", filepath.Join(tmp, "olink", "export")}},
		{"OUTPUT given as a link into INPUT", []string{in, filepath.Join(tmp, "in-tables"), filepath.Join(tmp, "phi")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := etl(t, 22, tc.args...)
			if !strings.Contains(r.Stderr, "must not be inside") {
				t.Errorf("stderr does not say why:\n%s", r.Stderr)
			}
			if found := codebooksUnder(t, tmp); len(found) > 0 {
				t.Errorf("codebook written: %v", found)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("OUTPUT holds %d entries after a refused run", len(entries))
			}
		})
	}
}

// TestItem5_SymlinkedInputRootAndSubfoldersAreFollowed: a link to the latest export works as
// INPUT, linked subfolders are read, a link loop ends, and a folder or file reached twice is read
// once.
func TestItem5_SymlinkedInputRootAndSubfoldersAreFollowed(t *testing.T) {
	tmp := t.TempDir()
	export := writeFiles(t, filepath.Join(tmp, "export-2026-11"), map[string]string{"Patient.ndjson": patientRow + "\n"})
	writeFiles(t, filepath.Join(tmp, "elsewhere"), map[string]string{"Condition.000.ndjson": conditionRow + "\n"})
	symlink(t, filepath.Join(tmp, "elsewhere"), filepath.Join(export, "conditions"))       // a linked subfolder
	symlink(t, filepath.Join(tmp, "elsewhere"), filepath.Join(export, "conditions-again")) // the same folder, twice
	symlink(t, "..", filepath.Join(export, "sub", "loop"))                                 // a loop back to the root
	symlink(t, "export-2026-11", filepath.Join(tmp, "latest"))
	out := filepath.Join(tmp, "out")
	r := etl(t, 0, filepath.Join(tmp, "latest"), out, filepath.Join(tmp, "phi"))
	for table, want := range map[string]int{"patient": 1, "condition": 1} {
		b, err := os.ReadFile(filepath.Join(out, table, table+".000.ndjson"))
		if got := strings.Count(string(b), "\n"); err != nil || got != want {
			t.Errorf("%s table: %d rows (%v), want %d\n%s", table, got, err, want, r.Stdout)
		}
	}
}

// TestItem6_InputInsideOutputIsRefused: the raw export must not sit in the folder meant to leave
// the hospital (exit 22), whether given directly or through a link.
func TestItem6_InputInsideOutputIsRefused(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	in := writeFiles(t, filepath.Join(out, "raw"), map[string]string{"Patient.ndjson": patientRow + "\n"})
	symlink(t, in, filepath.Join(tmp, "in-link"))
	for _, input := range []string{in, filepath.Join(tmp, "in-link")} {
		r := etl(t, 22, input, out, filepath.Join(tmp, "phi"))
		if !strings.Contains(r.Stderr, "INPUT") || !strings.Contains(r.Stderr, "must not be inside OUTPUT") {
			t.Errorf("stderr does not say why:\n%s", r.Stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "patient")); err == nil {
		t.Error("a table was written")
	}
}

// TestItem10_InputFileSaysInputMustBeAFolderOrURL: a data file given as INPUT is an invalid
// argument (23) with a message that says what INPUT must be.
func TestItem10_InputFileSaysInputMustBeAFolderOrURL(t *testing.T) {
	tmp := t.TempDir()
	in := writeFiles(t, filepath.Join(tmp, "in"), map[string]string{"Condition.000.ndjson": conditionRow + "\n"})
	for _, input := range []string{filepath.Join(in, "Condition.000.ndjson"), filepath.Join(tmp, "missing")} {
		r := etl(t, 23, input, filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"))
		if !strings.Contains(r.Stderr, "INPUT must be a folder holding a bulk export") || !strings.Contains(r.Stderr, "or a FHIR server URL") {
			t.Errorf("stderr:\n%s", r.Stderr)
		}
		if strings.Contains(r.Stderr, "state.json") {
			t.Errorf("stderr talks about export state:\n%s", r.Stderr)
		}
	}
}

// TestItem11_EveryBadDeletedLineIsNamedAndExits19: a malformed deleted/ Bundle is a data error
// (19, not 1); every bad line is named, in every file; nothing is written, since applying only
// some deletions would publish rows the export says are deleted.
func TestItem11_EveryBadDeletedLineIsNamedAndExits19(t *testing.T) {
	tmp := t.TempDir()
	good := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/p9"}}]}`
	in := writeFiles(t, filepath.Join(tmp, "in"), map[string]string{
		"Patient.ndjson": patientRow + "\n",
		"deleted/Bundle.000.ndjson": good + "\n" + `{"resourceType":"Bundle",` + "\n" + good + "\n" +
			`{"resourceType":"Bundle","entry":[{"request":{"method":"PUT","url":"Patient/p1"}}]}` + "\n",
		"deleted/Bundle.001.ndjson": patientRow + "\n",
		"deleted/x.ndjson":          "not json\n", // no type in the name: still read, not left out
	})
	out := filepath.Join(tmp, "out")
	r := etl(t, 19, in, out, filepath.Join(tmp, "phi"))
	for _, want := range []string{"Bundle.000.ndjson:2:", "Bundle.000.ndjson:4: Bundle entry 0 is not a DELETE request",
		"Bundle.001.ndjson:1: expected a Bundle", "x.ndjson:1: not a JSON object", "(4 lines)", "Nothing was written"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "patient")); err == nil {
		t.Error("the patient table was written without its deletions")
	}
}

// TestItem16_EmptyTableHasOneShape: an empty input file and an input whose every row is deleted
// both give the table as one empty <table>.000.ndjson, nothing else.
func TestItem16_EmptyTableHasOneShape(t *testing.T) {
	deleteC1 := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Condition/c1"}}]}`
	for name, files := range map[string]map[string]string{
		"empty input file":   {"Condition.ndjson": ""},
		"every row deleted":  {"Condition.ndjson": conditionRow + "\n", "deleted/Bundle.000.ndjson": deleteC1 + "\n"},
		"rows in many files": {"Condition.ndjson": conditionRow + "\n" + strings.Replace(conditionRow, "c1", "c2", 1) + "\n", "deleted/Bundle.000.ndjson": strings.Replace(deleteC1, `}}]}`, `}},{"request":{"method":"DELETE","url":"Condition/c2"}}]}`, 1) + "\n"},
	} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			in := writeFiles(t, filepath.Join(tmp, "in"), files)
			out := filepath.Join(tmp, "out")
			etl(t, 0, in, out, filepath.Join(tmp, "phi"), "--batch-size", "1")
			entries, err := os.ReadDir(filepath.Join(out, "condition"))
			if err != nil || len(entries) != 1 || entries[0].Name() != "condition.000.ndjson" {
				t.Fatalf("condition table holds %v (%v), want just condition.000.ndjson", entries, err)
			}
			if fi, _ := entries[0].Info(); fi.Size() != 0 {
				t.Errorf("condition.000.ndjson has %d bytes, want 0", fi.Size())
			}
		})
	}
}
