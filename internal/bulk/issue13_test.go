package bulk

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk/bulktest"
)

// TestIssue13Item6ResumeSaysWhatWasKeptApartFromWhatWasDownloaded: a rerun keeps the files an
// earlier run finished and says so, file by file and in the summary, instead of calling them
// downloaded; the result counts them apart.
func TestIssue13Item6ResumeSaysWhatWasKeptApartFromWhatWasDownloaded(t *testing.T) {
	_, opts := halfFinishedExport(t)
	rerun := newLogBuffer()
	opts.Progress = rerun
	res, err := Export(context.Background(), http.DefaultClient, opts)
	rerun.Close()
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Files != 5 || res.KeptFiles != 4 {
		t.Errorf("files %d, kept %d; want 5 and 4", res.Files, res.KeptFiles)
	}
	out := rerun.String()
	for _, want := range []string{"  Kept Patient.000.ndjson (", "  Kept Condition.000.ndjson (", "  Downloaded Condition.001.ndjson (",
		"Downloaded 1 files (", "; kept 4 files (", "download: 5 of 5 files (4 kept)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Downloaded Patient.000.ndjson") {
		t.Errorf("a kept file is said to be downloaded:\n%s", out)
	}
}

// TestIssue13Item8SignedFileURLNeverShown: a pre-signed file URL that keeps answering 403 (with
// an S3 body that echoes the access key and signature) fails the export, and neither its
// signature nor its access key appears in the error, the progress output, log.ndjson or any
// file of DIR (the resume state included: partial downloads record a hash of the URL).
func TestIssue13Item8SignedFileURLNeverShown(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(), NoToken: true, SignedURLs: true,
		FileFaults: map[int][]bulktest.Fault{0: repeatFault(bulktest.Forbidden, 10)}})
	defer srv.Close()
	opts := testOptions(t, srv, newFakeClock())
	_, err := Export(context.Background(), http.DefaultClient, opts)
	if !errors.Is(err, ErrExportFailed) || !strings.Contains(err.Error(), "Patient.000.ndjson") || !strings.Contains(err.Error(), "X-Amz-Signature=REDACTED") {
		t.Fatalf("error %v, want a failure naming the file and its redacted URL", err)
	}
	texts := map[string]string{"error": err.Error(), "progress output": opts.Progress.(logBuffer).String()}
	_ = filepath.WalkDir(opts.Dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			texts[path] = string(b)
		}
		return nil
	})
	if !strings.Contains(texts[filepath.Join(opts.Dir, "log.ndjson")], `"download_error"`) {
		t.Error("log.ndjson has no download_error row")
	}
	for where, text := range texts {
		for _, secret := range []string{bulktest.SignedAccessKey, bulktest.SignedSignature} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the signed URL's secret %s", where, secret)
			}
		}
	}
}
