package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/cli/clitest"
)

// End-to-end tests of issue 10's command-line rules (items 12, 14, 15), run on the built binary.

// phiDiagnostics is an error file's message quoting a patient, as EHRs' messages can.
const phiDiagnostics = "Patient John Q Smith MRN 8675309 could not be serialized"

// TestItem12_FatalOutcomeExits16ForExportAndFolderInputWithoutItsText: one rule for a fatal or
// error OperationOutcome in an export's error files. `export` exits 16 (after downloading every
// file), `etl` on that folder exits 16 too and writes nothing, unless --allow-export-errors; no
// command prints the messages' text, which can hold PHI, only their severity, code and place.
func TestItem12_FatalOutcomeExits16ForExportAndFolderInputWithoutItsText(t *testing.T) {
	errorFile := `{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"` + phiDiagnostics + `"},` +
		`{"severity":"warning","code":"SECRET-` + phiDiagnostics + `","details":{"text":"` + phiDiagnostics + `"}}]}` + "\n"
	srv := bulktest.New(bulktest.Script{Files: []bulktest.File{
		{Type: "Patient", Body: []byte(patientRow + "\n")},
		{Kind: "error", Type: "OperationOutcome", Body: []byte(errorFile)},
	}})
	defer srv.Close()
	tmp := t.TempDir()
	dir, out, phi := filepath.Join(tmp, "export"), filepath.Join(tmp, "out"), filepath.Join(tmp, "phi")

	checkNoText := func(t *testing.T, r clitest.Result) {
		t.Helper()
		if strings.Contains(r.Stdout+r.Stderr, "John") || strings.Contains(r.Stdout+r.Stderr, "SECRET") {
			t.Errorf("an error file's text was printed:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
		}
		if !strings.Contains(r.Stdout+r.Stderr, `1 fatal "exception" issue (first at `) {
			t.Errorf("the fatal issue is not described:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
		}
	}
	r := clitest.Run(t, "", "export", srv.GroupURL(), dir, "--type", "Patient")
	if r.Code != 16 {
		t.Fatalf("export: exit %d, want 16\n%s", r.Code, r.Stderr)
	}
	checkNoText(t, r)

	r = clitest.Run(t, "", dir, out, phi)
	if r.Code != 16 {
		t.Fatalf("etl on the export folder: exit %d, want 16\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	checkNoText(t, r)
	if _, err := os.Stat(out); err == nil {
		t.Error("etl wrote OUTPUT for an export that reported errors")
	}
	if _, err := os.Stat(filepath.Join(phi, "codebook.json")); err == nil {
		t.Error("etl made a codebook for an export that reported errors")
	}

	r = clitest.Run(t, "", dir, out, phi, "--allow-export-errors", "--output-format", "ndjson")
	if r.Code != 0 {
		t.Fatalf("etl --allow-export-errors: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	checkNoText(t, r)
	if !strings.Contains(r.Stdout, `1 warning "non-standard" issue`) {
		t.Errorf("the warning with a non-standard code is not described:\n%s", r.Stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "patient", "patient.000.ndjson")); err != nil {
		t.Errorf("no patient table: %v", err)
	}
}

// TestItem14_KeygenVersionAndArgumentEdges: keygen refuses one file for both keys before writing
// anything (22), extra arguments are a usage error (2), and `version` prints what --version does.
func TestItem14_KeygenVersionAndArgumentEdges(t *testing.T) {
	tmp := t.TempDir()
	os.Symlink(tmp, filepath.Join(tmp, "here"))
	for _, args := range [][]string{
		{"keygen", "--out-private", "k", "--out-public", "k"},
		{"keygen", "--out-private", "k", "--out-public", "./here/k"},
	} {
		r := clitest.Run(t, tmp, args...)
		if r.Code != 22 || !strings.Contains(r.Stderr, "--out-private and --out-public are both") {
			t.Errorf("%v: exit %d, want 22\n%s", args, r.Code, r.Stderr)
		}
		if _, err := os.Lstat(filepath.Join(tmp, "k")); err == nil {
			t.Errorf("%v: wrote k before refusing", args)
		}
	}
	if r := clitest.Run(t, tmp, "keygen", "extra"); r.Code != 2 {
		t.Errorf("keygen extra: exit %d, want 2\n%s", r.Code, r.Stderr)
	}
	version, flag := clitest.Run(t, tmp, "version"), clitest.Run(t, tmp, "--version")
	if version.Code != 0 || version.Stdout != flag.Stdout || !strings.Contains(version.Stdout, "cumulus-etl version ") {
		t.Errorf("version: exit %d, %q; --version: %q", version.Code, version.Stdout, flag.Stdout)
	}
}

// TestItem15_NothingSilentlyIgnored: JSON files in INPUT are named (and one whose name holds a
// resource type, likely data in the wrong format, fails the run like other left-out files);
// authentication flags with a folder INPUT are refused (22); `--task ""` is refused (17), not
// taken as every task; a PHI folder other users can read is warned about.
func TestItem15_NothingSilentlyIgnored(t *testing.T) {
	tmp := t.TempDir()
	in := writeFiles(t, filepath.Join(tmp, "in"), map[string]string{"Patient.ndjson": patientRow + "\n", "manifest.json": "{}"})
	phi := filepath.Join(tmp, "phi")
	os.MkdirAll(phi, 0o755)
	os.Chmod(phi, 0o755) // whatever the umask

	t.Run("an unrelated JSON file is named", func(t *testing.T) {
		r := etl(t, 0, in, filepath.Join(tmp, "o1"), phi)
		if !strings.Contains(r.Stdout, "manifest.json: a JSON file, not ndjson") {
			t.Errorf("manifest.json not named:\n%s", r.Stdout)
		}
	})
	t.Run("a PHI folder open to other users is warned about", func(t *testing.T) {
		r := etl(t, 0, in, filepath.Join(tmp, "o2"), phi)
		if !strings.Contains(r.Stderr, "warning: "+phi+" has mode 0755") {
			t.Errorf("no warning:\n%s", r.Stderr)
		}
	})
	t.Run("a JSON file named like data is left out and fails the run", func(t *testing.T) {
		in2 := writeFiles(t, filepath.Join(tmp, "in2"), map[string]string{"Patient.ndjson": patientRow + "\n", "Condition.json": conditionRow})
		r := etl(t, 19, in2, filepath.Join(tmp, "o3"), filepath.Join(tmp, "p3"))
		if !strings.Contains(r.Stderr, "Condition.json: a JSON file, not ndjson, so not read") {
			t.Errorf("Condition.json not named:\n%s", r.Stderr)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"--smart-client-id with a folder INPUT", []string{"--smart-client-id", "x", "--smart-key", "k.jwks"}, 22},
		{"--bearer-token with a folder INPUT", []string{"--bearer-token", "token.txt"}, 22},
		{"--ca-file with a folder INPUT", []string{"--ca-file", "ca.pem"}, 22},
		{`--task ""`, []string{"--task", ""}, 17},
		{`--task "patient,"`, []string{"--task", "patient,"}, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, "out-refused")
			etl(t, tc.want, append([]string{in, out, filepath.Join(tmp, "p-refused")}, tc.args...)...)
			if _, err := os.Stat(out); err == nil {
				t.Error("OUTPUT written by a refused run")
			}
		})
	}
}
