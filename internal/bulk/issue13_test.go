package bulk

import (
	"context"
	"net/http"
	"strings"
	"testing"
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
