package cli

import (
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/fhir/fhirtest"
)

// noteServer starts a fake FHIR server and returns the flags that reach it with SMART
// credentials (the test certificate trusted through --ca-file).
func noteServer(t *testing.T) (*fhirtest.Server, []string) {
	t.Helper()
	s := fhirtest.NewServer(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, []string{"--fhir-url", s.BaseURL, "--smart-client-id", fhirtest.ClientID, "--smart-key", s.KeyPath, "--ca-file", ca}
}

// notesExport writes an export folder whose DocumentReferences and DiagnosticReports link to
// the given notes (id → content type and body), which the server gets to serve.
func notesExport(t *testing.T, s *fhirtest.Server, notes map[string][2]string) string {
	t.Helper()
	dir := t.TempDir()
	var docs, dxrs []string
	for id, n := range notes {
		s.AddBinary(id, n[0], []byte(n[1]))
		mt, _, _ := strings.Cut(n[0], ";")
		att := `{"contentType":"` + mt + `","url":"Binary/` + id + `"}`
		if strings.HasPrefix(id, "dxr") {
			dxrs = append(dxrs, `{"resourceType":"DiagnosticReport","id":"`+id+`","status":"final","subject":{"reference":"Patient/p1"},"code":{"text":"x"},"presentedForm":[`+att+`]}`)
		} else {
			docs = append(docs, `{"resourceType":"DocumentReference","id":"`+id+`","status":"current","subject":{"reference":"Patient/p1"},"type":{"text":"note"},"content":[{"attachment":`+att+`}]}`)
		}
	}
	os.WriteFile(filepath.Join(dir, "DocumentReference.000.ndjson"), []byte(strings.Join(docs, "\n")+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "DiagnosticReport.000.ndjson"), []byte(strings.Join(dxrs, "\n")+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "Patient.000.ndjson"), []byte(`{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01"}`+"\n"), 0o600)
	return dir
}

// TestInlineThenETL_NoNoteTextInOutput (issue 9 items 2 and 5): inline downloads every note;
// the ETL then writes tables that hold no text of any of them: plain, HTML or base64.
func TestInlineThenETL_NoNoteTextInOutput(t *testing.T) {
	s, auth := noteServer(t)
	notes := map[string][2]string{
		"plain":  {"text/plain; charset=utf-8", "Patient ZEBRAFISH reports chest pain radiating to the left arm."},
		"html":   {"text/html", `<html><script>var QUOKKA=1;</script><p>Assessment: PANGOLIN syndrome</p><table><tr><td>WOMBAT</td></tr></table></html>`},
		"latin1": {"text/plain; charset=iso-8859-1", "Diagnostic: syndrome de CAPYBARA, tr\xe8s s\xe9v\xe8re"},
		"dxr1":   {"text/plain", "Impression: no acute NARWHAL findings."},
	}
	dir := notesExport(t, s, notes)
	code, stdout, stderr := runCLI(t, append([]string{"inline", dir, "--quiet"}, auth...)...)
	if code != ExitOK {
		t.Fatalf("inline: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"doc-inline", "dxr-inline"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %s:\n%s", want, stdout)
		}
	}
	doc, _ := os.ReadFile(filepath.Join(dir, "DocumentReference.000.ndjson"))
	if strings.Count(string(doc), `"data":`) != 3 {
		t.Fatalf("not every note was inlined:\n%s", doc)
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	code, stdout, stderr = runCLI(t, dir, out, filepath.Join(tmp, "phi"), "--export-group", "g", "--export-timestamp", "2024-01-01T00:00:00Z", "--output-format", "ndjson")
	if code != ExitOK {
		t.Fatalf("etl: exit %d\n%s\n%s", code, stdout, stderr)
	}
	needles := []string{"ZEBRAFISH", "QUOKKA", "PANGOLIN", "WOMBAT", "CAPYBARA", "NARWHAL", "Binary/"}
	for _, n := range notes {
		needles = append(needles, base64.StdEncoding.EncodeToString([]byte(n[1]))[:40])
	}
	assertNoHits(t, out, needles)
	if tables, _ := filepath.Glob(filepath.Join(out, "documentreference", "*.ndjson")); len(tables) == 0 {
		t.Error("no documentreference table was written")
	}
}

// TestInline_ExitCodes (issue 9 items 1 and 2): the new exit codes and the --fhir-url rules.
func TestInline_ExitCodes(t *testing.T) {
	s, auth := noteServer(t)
	s.Fail("Binary/gone", fhirtest.Status(404), fhirtest.Status(404))
	dir := notesExport(t, s, map[string][2]string{"ok": {"text/plain", "fine"}, "gone": {"text/plain", "x"}})
	bigDir := notesExport(t, s, map[string][2]string{"big": {"text/plain", strings.Repeat("x", 4096)}})
	okDir := notesExport(t, s, map[string][2]string{"ok2": {"text/plain", "fine"}})
	tmp := t.TempDir()
	tokenFile := filepath.Join(tmp, "token")
	os.WriteFile(tokenFile, []byte("t"), 0o600)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"relative URLs without --fhir-url", []string{"inline", okDir}, ExitFHIRURLMissing},
		{"credentials without --fhir-url", []string{"inline", okDir, "--bearer-token", tokenFile}, ExitFHIRURLMissing},
		{"a failed download", append([]string{"inline", dir}, auth...), ExitHydrateFailed},
		{"a note over the cap", append([]string{"inline", bigDir, "--max-note-size", "1KiB"}, auth...), ExitNoteTooLarge},
		{"bad --max-note-size", append([]string{"inline", okDir, "--max-note-size", "lots"}, auth...), ExitArgsInvalid},
		{"bad --resource", append([]string{"inline", okDir, "--resource", "Observation"}, auth...), ExitArgsInvalid},
		{"unknown hydrate task", append([]string{"hydrate", okDir, "--tasks", "doc-inline,nope"}, auth...), ExitTaskUnknown},
		{"FHIR_URL and --fhir-url differ", append([]string{"inline", okDir, "https://other.example/fhir"}, auth...), ExitArgsConflict},
		{"DIR missing", append([]string{"inline", filepath.Join(tmp, "nope")}, auth...), ExitArgsInvalid},
		{"etl: --fhir-url not a prefix of a URL INPUT", []string{s.BaseURL + "Group/1", filepath.Join(tmp, "o"), filepath.Join(tmp, "p"),
			"--fhir-url", "https://elsewhere.example/fhir"}, ExitArgsConflict},
		{"export: --fhir-url only a string prefix", []string{"export", s.BaseURL + "Group/1", filepath.Join(tmp, "e"),
			"--fhir-url", strings.TrimSuffix(s.BaseURL, "/fhir/") + "/fh"}, ExitArgsConflict},
		{"the rest works", append([]string{"inline", okDir, "--quiet"}, auth...), ExitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, stdout, stderr := runCLI(t, tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tc.want, stdout, stderr)
			}
		})
	}
	if code, _, stderr := runCLI(t, append([]string{"inline", dir}, auth...)...); code != ExitHydrateFailed ||
		!strings.Contains(stderr, "DocumentReference.000.ndjson:") || !strings.Contains(stderr, "Binary/gone: HTTP 404") {
		t.Errorf("the failure is not listed with its place, URL and reason (exit %d):\n%s", code, stderr)
	}
}

// TestExportInline_RerunKeepsTheInlinedFiles (issue 9 item 2): export --inline inlines the
// exported notes with the export's own client (its token reaches the Binary reads), and a rerun
// of the same command keeps the rewritten files: nothing is exported or downloaded again.
func TestExportInline_RerunKeepsTheInlinedFiles(t *testing.T) {
	docs := `{"resourceType":"DocumentReference","id":"d1","status":"current","content":[{"attachment":{"contentType":"text/plain","url":"Binary/n1"}}]}` + "\n" +
		`{"resourceType":"DocumentReference","id":"d2","status":"current","content":[{"attachment":{"contentType":"text/plain","url":"Binary/n2"}}]}` + "\n"
	srv := bulktest.New(bulktest.Script{Token: "s3cret", Binaries: map[string]string{"n1": "first note", "n2": "second note"},
		Files: []bulktest.File{{Type: "DocumentReference", Body: []byte(docs)}, {Type: "Patient", Body: []byte(`{"resourceType":"Patient","id":"p"}` + "\n")}}})
	defer srv.Close()
	tmp := t.TempDir()
	token := filepath.Join(tmp, "token")
	os.WriteFile(token, []byte("s3cret"), 0o600)
	dir := filepath.Join(tmp, "export")
	args := []string{"export", srv.GroupURL(), dir, "--type", "DocumentReference,Patient", "--inline", "--bearer-token", token, "--quiet"}
	if code, stdout, stderr := runCLI(t, args...); code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "DocumentReference.*.ndjson"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	inlined, _ := os.ReadFile(files[0])
	if !strings.Contains(string(inlined), base64.StdEncoding.EncodeToString([]byte("second note"))) {
		t.Fatalf("not inlined:\n%s", inlined)
	}
	kickoffs, binaries := srv.Requests("kickoff"), srv.Requests("binary")
	if code, stdout, stderr := runCLI(t, args...); code != ExitOK {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
	}
	again, _ := os.ReadFile(files[0])
	if string(again) != string(inlined) || srv.Requests("kickoff") != kickoffs || srv.Requests("binary") != binaries || srv.FullDownloads(0) != 1 {
		t.Errorf("rerun changed the file (%v), kicked off (%d→%d), fetched notes (%d→%d) or downloaded the file again (%d)",
			string(again) != string(inlined), kickoffs, srv.Requests("kickoff"), binaries, srv.Requests("binary"), srv.FullDownloads(0))
	}
}
