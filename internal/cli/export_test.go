package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"cumulus-etl/internal/bulk/bulktest"
)

// TestExportCommandExitCodes runs the export command against the fake Bulk Data server.
func TestExportCommandExitCodes(t *testing.T) {
	patients := []byte(`{"resourceType":"Patient","id":"p1"}` + "\n")
	cases := []struct {
		name   string
		script bulktest.Script
		args   func(url, dir string) []string
		code   int
	}{
		{"export writes Patient.000.ndjson", bulktest.Script{Files: []bulktest.File{{Type: "Patient", Body: patients}}},
			func(u, d string) []string { return []string{u, d, "--type", "Patient", "--quiet"} }, ExitOK},
		{"server-reported errors exit 16", bulktest.Script{Files: []bulktest.File{{Kind: "error", Type: "OperationOutcome",
			Body: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"boom"}]}` + "\n")}}},
			func(u, d string) []string { return []string{u, d, "--task", "patient", "--quiet"} }, ExitBulkExportFailed},
		{"--cancel with nothing to cancel exits 22", bulktest.Script{},
			func(u, d string) []string { return []string{u, d, "--cancel"} }, ExitArgsConflict},
		{"unknown task exits 17", bulktest.Script{},
			func(u, d string) []string { return []string{u, d, "--task", "nope"} }, ExitTaskUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := bulktest.New(tc.script)
			defer srv.Close()
			dir := t.TempDir()
			cmd := newExportCmd()
			cmd.SetArgs(tc.args(srv.GroupURL(), dir))
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			code := ExitOK
			var exitErr *ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.Code
			} else if err != nil {
				code = ExitGeneric
			}
			if code != tc.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.code)
			}
			if tc.code == ExitOK {
				if b, err := os.ReadFile(filepath.Join(dir, "Patient.000.ndjson")); err != nil || !bytes.Equal(b, patients) {
					t.Errorf("Patient.000.ndjson = %q, %v", b, err)
				}
			}
		})
	}
}
