package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestIssue10Item9UnreachableServerExits1: a FHIR server that cannot be reached at all (nothing
// listens) ends the export with exit 1, as the README says, naming the server, and leaves no DIR.
func TestIssue10Item9UnreachableServerExits1(t *testing.T) {
	connectRetry = fhir.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	t.Cleanup(func() { connectRetry = fhir.RetryPolicy{} })
	dir := filepath.Join(t.TempDir(), "export")
	code, _, stderr := runCLI(t, "export", "http://127.0.0.1:1/fhir", dir)
	if code != ExitGeneric || !strings.Contains(stderr, "cannot reach the FHIR server: http://127.0.0.1:1/fhir/") {
		t.Errorf("exit %d, want %d saying the server cannot be reached\n%s", code, ExitGeneric, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("DIR left behind: %v", err)
	}
}

// TestIssue10Item13ExportFailingBeforeTheNetworkLeavesNoDir: a bad URL, half-given credentials
// or two auth methods stop `export` before any request, and DIR is not created; `--cancel` with
// nothing saved says so at once, without contacting the server.
func TestIssue10Item13ExportFailingBeforeTheNetworkLeavesNoDir(t *testing.T) {
	ehr := fhirtest.NewServer(t)
	tmp := t.TempDir()
	token := filepath.Join(tmp, "token")
	os.WriteFile(token, []byte("t\n"), 0o600)
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"bad URL", []string{"ftp://ehr.example/fhir"}, ExitArgsInvalid},
		{"half-given SMART credentials", []string{ehr.BaseURL, "--smart-client-id", "x"}, ExitSMARTCredentialsMissing},
		{"half-given basic credentials", []string{ehr.BaseURL, "--basic-user", "u"}, ExitBasicCredentialsMissing},
		{"two auth methods", []string{ehr.BaseURL, "--bearer-token", token, "--basic-user", "u", "--basic-passwd", token}, ExitArgsConflict},
		{"--cancel with nothing saved", []string{ehr.BaseURL, "--cancel"}, ExitArgsConflict},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(tmp, "export", string(rune('a'+i)))
			start := time.Now()
			args := append([]string{"export", tc.args[0], dir}, tc.args[1:]...)
			code, _, stderr := runCLI(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("DIR left behind: %v", err)
			}
			if ehr.Requests("metadata") != 0 || time.Since(start) > 5*time.Second {
				t.Errorf("the server was contacted (%d metadata requests, %s)", ehr.Requests("metadata"), time.Since(start))
			}
		})
	}
}
