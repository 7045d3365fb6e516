package main

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotesServer_ServesWhatTheExportLinks: every linked note is served with its type and size.
func TestNotesServer_ServesWhatTheExportLinks(t *testing.T) {
	dir := t.TempDir()
	if err := writeExport(dir, 3); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "DocumentReference.000.ndjson"))
	if strings.Count(string(b), "\n") != 3 || !strings.Contains(string(b), `"url":"Binary/n2"`) {
		t.Fatalf("export:\n%s", b)
	}
	srv := httptest.NewServer(handler(3, 100))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/fhir/Binary/n2")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 100 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("status %d, %d bytes, %s", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
	if resp, _ := srv.Client().Get(srv.URL + "/fhir/Binary/n3"); resp.StatusCode != 404 {
		t.Errorf("a note beyond the export: %d", resp.StatusCode)
	}
}
