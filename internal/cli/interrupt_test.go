package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
)

// TestCLIHelperProcess runs the real entry point (signal handling and os.Exit included) with
// the arguments in CUMULUS_CLI_ARGS, for tests that signal a process. It does nothing in a
// normal test run.
func TestCLIHelperProcess(t *testing.T) {
	raw := os.Getenv("CUMULUS_CLI_ARGS")
	if raw == "" {
		t.Skip("helper process only")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"cumulus-etl"}, args...)
	Run()
}

// cliProcess starts the command line in a child process.
func cliProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIHelperProcess$")
	cmd.Env = append(os.Environ(), "CUMULUS_CLI_ARGS="+string(raw))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// TestIssue13Item5InterruptedExportSaysOneLineAndExitsWithTheSignalCode signals an export
// process in the middle of its downloads: it prints one line saying how to go on (no error per
// queued download), exits 130 for SIGINT or 143 for SIGTERM, logs no download_error for the
// cancelled downloads, and the same command run again finishes the export.
func TestIssue13Item5InterruptedExportSaysOneLineAndExitsWithTheSignalCode(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, ExitInterrupted}, {syscall.SIGTERM, ExitTerminated}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			var files []bulktest.File
			for range 24 {
				files = append(files, bulktest.File{Type: "Observation", Size: 512 << 10})
			}
			srv := bulktest.New(bulktest.Script{Files: files, ChunkDelay: 20 * time.Millisecond})
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "export")
			cmd, stderr := cliProcess(t, "export", srv.GroupURL(), dir, "--type", "Observation")
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if done, _ := filepath.Glob(filepath.Join(dir, "Observation.*.ndjson")); len(done) > 0 {
					break // some files are done, others are being downloaded or queued
				}
			}
			_ = cmd.Process.Signal(tc.sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("exit %v, want %d\n%s", err, tc.code, stderr)
			}
			var ours []string
			for _, line := range strings.Split(stderr.String(), "\n") {
				if strings.HasPrefix(line, "cumulus-etl:") || strings.Contains(line, "context canceled") {
					ours = append(ours, line)
				}
			}
			want := fmt.Sprintf("cumulus-etl: interrupted; run the same command again to resume (the files downloaded so far are kept in %s) (%s)", dir, tc.sig)
			if len(ours) != 1 || ours[0] != want {
				t.Errorf("error lines %q, want just %q\n%s", ours, want, stderr)
			}
			if log, _ := os.ReadFile(filepath.Join(dir, "log.ndjson")); bytes.Contains(log, []byte(`"download_error"`)) {
				t.Errorf("log.ndjson has download_error rows for cancelled downloads:\n%s", log)
			}
			if code, _, errOut := runCLI(t, "export", srv.GroupURL(), dir, "--type", "Observation"); code != ExitOK || !strings.Contains(errOut, "kept from an earlier run") {
				t.Fatalf("rerun: exit %d\n%s", code, errOut)
			}
		})
	}
}
