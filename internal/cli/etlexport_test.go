package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/input/inputtest"
)

// sampleFiles serves the bundled sample export from the fake Bulk Data server.
func sampleFiles(t *testing.T) []bulktest.File {
	t.Helper()
	root := inputtest.SampleExport(t)
	var files []bulktest.File
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "log.ndjson" {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		kind := "output"
		switch filepath.Base(filepath.Dir(path)) {
		case "error":
			kind = "error"
		case "deleted":
			kind = "deleted"
		}
		files = append(files, bulktest.File{Kind: kind, Type: strings.SplitN(filepath.Base(path), ".", 2)[0], Body: body})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestETL_URLInputMatchesFolderInput(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(t)})
	defer srv.Close()
	tmp := t.TempDir()
	phi := filepath.Join(tmp, "phi")
	exportTo := filepath.Join(tmp, "export")

	code, stdout, stderr := runCLI(t, srv.GroupURL(), filepath.Join(tmp, "from-url"), phi, "--export-to", exportTo, "--quiet", "--output-format", "ndjson")
	if code != ExitOK {
		t.Fatalf("etl URL: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, inputtest.SampleExport(t), filepath.Join(tmp, "from-folder"), phi, "--output-format", "ndjson")
	if code != ExitOK {
		t.Fatalf("etl folder: exit %d\n%s\n%s", code, stdout, stderr)
	}
	tables, _ := filepath.Glob(filepath.Join(tmp, "from-folder", "*", "*.ndjson"))
	compared := 0
	for _, path := range tables {
		table := filepath.Base(filepath.Dir(path))
		if strings.HasPrefix(table, "etl__") {
			continue // completion rows differ by design: another export time and URL
		}
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(tmp, "from-url", table, filepath.Base(path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("table %s differs between URL and folder input (%v)", table, err)
		}
		compared++
	}
	if compared < 20 {
		t.Errorf("compared only %d tables", compared)
	}
	if _, err := os.Stat(filepath.Join(exportTo, "Patient.000.ndjson")); err != nil {
		t.Errorf("--export-to folder does not keep the export: %v", err)
	}
	completion := readLines(t, filepath.Join(tmp, "from-url", "etl__completion", "etl__completion.000.ndjson"))
	if len(completion) == 0 || !strings.Contains(completion[0], `"group_name":"G1"`) || !strings.Contains(completion[0], "2015-02-07T13:28:17+02:00") {
		t.Errorf("completion rows do not name the export's group and time: %v", completion)
	}
}

func TestETL_URLInputTemporaryFolderIsRemoved(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(t)})
	defer srv.Close()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(tmp, "tmp"))
	os.MkdirAll(filepath.Join(tmp, "tmp"), 0o700)
	code, stdout, stderr := runCLI(t, srv.GroupURL(), filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"), "--quiet")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if left, _ := os.ReadDir(filepath.Join(tmp, "tmp")); len(left) != 0 {
		t.Errorf("temporary export files left behind: %v", left)
	}
}

func TestETL_ExportOptionRules(t *testing.T) {
	tmp := t.TempDir()
	notEmpty := filepath.Join(tmp, "full")
	os.MkdirAll(notEmpty, 0o755)
	os.WriteFile(filepath.Join(notEmpty, "x.txt"), []byte("x"), 0o644)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"--since with a folder INPUT exit 22", []string{tmp, tmp + "/o", tmp + "/p", "--since", "2020-01-01"}, ExitArgsConflict},
		{"--export-to with a folder INPUT exit 22", []string{tmp, tmp + "/o", tmp + "/p", "--export-to", tmp + "/e"}, ExitArgsConflict},
		{"--export-to not local exit 27", []string{"https://127.0.0.1:1/fhir", tmp + "/o", tmp + "/p", "--export-to", "s3://bucket/x"}, ExitExportFolderNotLocal},
		{"--since that is not a FHIR time exit 23", []string{"export", "https://127.0.0.1:1/fhir", tmp + "/e1", "--since", "yesterday"}, ExitArgsInvalid},
		{"--until that is not a FHIR time exit 23", []string{"https://127.0.0.1:1/fhir", tmp + "/o", tmp + "/p", "--until", "2024-13"}, ExitArgsInvalid},
		{"export DIR holding other files exit 26", []string{"export", "https://127.0.0.1:1/fhir", notEmpty}, ExitExportFolderNotEmpty},
		{"export DIR not local exit 27", []string{"export", "https://127.0.0.1:1/fhir", "s3://bucket/x"}, ExitExportFolderNotLocal},
		{"--export-to not empty exit 26", []string{"https://127.0.0.1:1/fhir", tmp + "/o", tmp + "/p", "--export-to", notEmpty}, ExitExportFolderNotEmpty},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, stdout, stderr := runCLI(t, tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tc.want, stdout, stderr)
			}
		})
	}
}

func TestETL_URLInputSendsTheBearerToken(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(t), Token: "s3cret-token"})
	defer srv.Close()
	tmp := t.TempDir()
	tokenFile := filepath.Join(tmp, "token")
	os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600)

	code, stdout, stderr := runCLI(t, srv.GroupURL(), filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"),
		"--bearer-token", tokenFile, "--quiet")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "s3cret-token") {
		t.Error("the token appears in the output")
	}
	code, _, _ = runCLI(t, srv.GroupURL(), filepath.Join(tmp, "out2"), filepath.Join(tmp, "phi"), "--quiet")
	if code == ExitOK {
		t.Error("the export worked without the token the server requires")
	}
	badFile := filepath.Join(tmp, "bad-token")
	os.WriteFile(badFile, []byte("wrong\n"), 0o600)
	code, _, stderr = runCLI(t, srv.GroupURL(), filepath.Join(tmp, "out3"), filepath.Join(tmp, "phi"), "--bearer-token", badFile, "--quiet")
	if code != ExitFHIRAuthFailed || !strings.Contains(stderr, "refused") {
		t.Errorf("a wrong token: exit %d, want %d\n%s", code, ExitFHIRAuthFailed, stderr)
	}
}

// TestExport_KickoffThrottleThroughTheFHIRClient_EC24: a kick-off answered 429 (another export
// is running) is waited out, also when the request goes through the real FHIR client, which
// must hand the 429 back to the export's own loop instead of failing it.
func TestExport_KickoffThrottleThroughTheFHIRClient_EC24(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(t),
		KickoffReplies: []bulktest.Reply{{Status: 429, Header: map[string]string{"Retry-After": "1"}}}})
	defer srv.Close()
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "export", srv.GroupURL(), dir, "--quiet")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if srv.Requests("kickoff") != 2 {
		t.Errorf("kick-off requests = %d, want 2", srv.Requests("kickoff"))
	}
}

// TestETL_InterruptedURLInputCancelsTheServerExport: Ctrl-C during an export into a temporary
// folder deletes the export on the server (its files are gone, so it can never be resumed, and
// Epic allows one export per client and group) and removes the folder.
func TestETL_InterruptedURLInputCancelsTheServerExport(t *testing.T) {
	var waiting []bulktest.Reply
	for range 100 {
		waiting = append(waiting, bulktest.Reply{Status: 202, Header: map[string]string{"Retry-After": "1"}})
	}
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(t), StatusReplies: waiting})
	defer srv.Close()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(tmp, "tmp"))
	os.MkdirAll(filepath.Join(tmp, "tmp"), 0o700)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.Requests("status") == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	var out, errOut bytes.Buffer
	if code := Main(ctx, []string{srv.GroupURL(), filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"), "--quiet"}, &out, &errOut); code != ExitInterrupted ||
		!strings.Contains(errOut.String(), "cumulus-etl: interrupted; the unfinished export was cancelled on the server") {
		t.Fatalf("an interrupted run exited %d, want %d with one line saying so\n%s", code, ExitInterrupted, errOut.String())
	}
	if srv.Requests("delete") != 1 {
		t.Errorf("DELETE requests = %d, want 1\n%s", srv.Requests("delete"), errOut.String())
	}
	if left, _ := os.ReadDir(filepath.Join(tmp, "tmp")); len(left) != 0 {
		t.Errorf("temporary export files left behind: %v", left)
	}
}

func TestETL_UnfinishedExportFolderIsRefused(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "export")
	os.MkdirAll(filepath.Join(in, ".cumulus-export"), 0o700)
	os.WriteFile(filepath.Join(in, ".cumulus-export", "state.json"), []byte(`{"statusUrl":"https://ehr.example/status/1","exportUrl":"https://ehr.example/Group/1/$export"}`), 0o600)
	os.WriteFile(filepath.Join(in, "Condition.000.ndjson"), []byte(`{"resourceType":"Condition","id":"c1"}`+"\n"), 0o600)
	code, stdout, stderr := runCLI(t, in, filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"), "--export-group", "g", "--export-timestamp", "2024-01-01")
	if code != ExitBulkExportFailed || !strings.Contains(stderr, "has not finished") {
		t.Errorf("exit %d, want %d\n%s\n%s", code, ExitBulkExportFailed, stdout, stderr)
	}
}

func TestETL_WrongPHIFolderIsRefusedBeforeTheExport(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(t)})
	defer srv.Close()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	if code, stdout, stderr := runCLI(t, inputtest.SampleExport(t), out, filepath.Join(tmp, "phi1")); code != ExitOK {
		t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr := runCLI(t, srv.GroupURL(), out, filepath.Join(tmp, "phi2"), "--quiet")
	if code != ExitWrongPHIFolder || srv.Requests("kickoff") != 0 {
		t.Errorf("exit %d with %d kick-offs, want %d before any kick-off\n%s", code, srv.Requests("kickoff"), ExitWrongPHIFolder, stderr)
	}
}

// TestETL_URLInputExportErrorsPointAtExportTo: an etl URL run whose export reports errors (exit
// 16) exports into a temporary folder that is removed before the message is read, so the
// message must not send the user to it alone: it says to keep the files with --export-to.
func TestETL_URLInputExportErrorsPointAtExportTo(t *testing.T) {
	oo := []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"could not export"}]}` + "\n")
	srv := bulktest.New(bulktest.Script{Files: append(sampleFiles(t), bulktest.File{Kind: "error", Type: "OperationOutcome", Body: oo})})
	defer srv.Close()
	tmp := t.TempDir()
	code, stdout, stderr := runCLI(t, srv.GroupURL(), filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"), "--quiet")
	if code != ExitBulkExportFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitBulkExportFailed, stdout, stderr)
	}
	if !strings.Contains(stderr, "--export-to DIR") {
		t.Errorf("the message names only the removed temporary folder, not --export-to:\n%s", stderr)
	}
}
