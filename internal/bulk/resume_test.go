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

// TestKO36NewExportNeverReusesAnotherExportsFiles checks that files journaled by one export are
// not kept as if they belonged to a different export started later in the same folder (after
// --cancel, or with --resume naming another status URL): the old files are removed and the new
// export's files are downloaded.
func TestKO36NewExportNeverReusesAnotherExportsFiles(t *testing.T) {
	newFiles := []bulktest.File{{Type: "Patient", Body: ndjson("Patient", 7)}}
	cases := []struct {
		name  string
		start func(t *testing.T, dir string, old, fresh *bulktest.Server, opts *Options)
	}{
		{name: "ST-20 after --cancel", start: func(t *testing.T, dir string, _, fresh *bulktest.Server, opts *Options) {
			if err := Cancel(context.Background(), http.DefaultClient, dir, ""); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			opts.URL = fresh.GroupURL()
		}},
		{name: "KO-36 --resume of another status URL", start: func(t *testing.T, _ string, _, fresh *bulktest.Server, opts *Options) {
			if _, err := Export(context.Background(), http.DefaultClient, Options{URL: fresh.GroupURL(), Dir: t.TempDir(),
				Types: []string{"Patient"}, Progress: opts.Progress, Clock: opts.Clock}); err != nil {
				t.Fatalf("starting the second export: %v", err)
			}
			opts.Resume = fresh.URL + "/status"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := bulktest.New(bulktest.Script{Files: sampleFiles()})
			defer old.Close()
			fresh := bulktest.New(bulktest.Script{Files: newFiles})
			defer fresh.Close()
			opts := testOptions(t, old, newFakeClock())
			if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
				t.Fatalf("first export: %v", err)
			}
			tc.start(t, opts.Dir, old, fresh, &opts)
			res, err := Export(context.Background(), http.DefaultClient, opts)
			if err != nil {
				t.Fatalf("second export: %v", err)
			}
			assertFiles(t, opts.Dir, newFiles)
			if res.Files != 1 || res.Resources != 7 {
				t.Errorf("result %d files, %d resources; want 1, 7", res.Files, res.Resources)
			}
		})
	}
}

// TestEC43ForgottenStatusURL checks that a saved or --resume status URL the server no longer
// knows (404 or 410, e.g. expired or deleted) fails with a message saying to start a new
// export, and that --cancel of such an export still forgets it so the folder can be reused.
func TestEC43ForgottenStatusURL(t *testing.T) {
	for _, code := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			srv := bulktest.New(bulktest.Script{Files: sampleFiles(), StatusReplies: repeat(bulktest.Reply{Status: code,
				Body: oo("error", "not-found", "job unknown")}, 2)})
			defer srv.Close()
			opts := testOptions(t, srv, newFakeClock())
			_, err := Export(context.Background(), http.DefaultClient, opts)
			if !errors.Is(err, ErrExportFailed) || !strings.Contains(err.Error(), "no longer knows this export") ||
				!strings.Contains(err.Error(), "--cancel") || !strings.Contains(err.Error(), "job unknown") {
				t.Fatalf("error %v, want ErrExportFailed saying the export is gone and how to start afresh", err)
			}
			if err := Cancel(context.Background(), deleteAnswers(code), opts.Dir, ""); err != nil {
				t.Fatalf("Cancel of a forgotten export: %v", err)
			}
			if _, err := os.Stat(filepath.Join(stateDir(opts.Dir), "state.json")); !os.IsNotExist(err) {
				t.Errorf("state still saved after cancel: %v", err)
			}
		})
	}
}

// deleteAnswers is a Doer answering every request with code.
type deleteAnswers int

func (d deleteAnswers) Do(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: int(d), Status: http.StatusText(int(d)), Header: http.Header{},
		Body: http.NoBody, Request: req}, nil
}

// TestKO36CompletedExportWithMissingFileIsNotComplete checks that rerunning a completed export
// whose folder lost or changed a downloaded file does not report it complete with that file
// missing: the file is fetched again from the manifest.
func TestKO36CompletedExportWithMissingFileIsNotComplete(t *testing.T) {
	cases := []struct {
		name   string
		damage func(path string) error
	}{
		{name: "file removed", damage: os.Remove},
		{name: "file changed", damage: func(p string) error { return os.WriteFile(p, []byte("{}\n"), 0o600) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, opts := exportedSample(t)
			if err := tc.damage(filepath.Join(opts.Dir, "Condition.001.ndjson")); err != nil {
				t.Fatal(err)
			}
			res, err := Export(context.Background(), http.DefaultClient, opts)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			assertFiles(t, opts.Dir, sampleFiles())
			if res.Files != 5 || srv.FullDownloads(2) != 2 || srv.FullDownloads(0) != 1 {
				t.Errorf("files %d, file 2 sent %d times, file 0 sent %d times; want 5, 2, 1", res.Files, srv.FullDownloads(2), srv.FullDownloads(0))
			}
		})
	}
}

// TestKO36SavedExportOfAnotherURLIsNotReused checks that a folder holding an export of one URL
// (another Group, other _type or _since) is not silently resumed or reused when asked for a
// different export: the run fails saying which export the folder holds and what to do, while
// the same request in another order of _type values resumes it.
func TestKO36SavedExportOfAnotherURLIsNotReused(t *testing.T) {
	cases := []struct {
		name    string
		change  func(o *Options)
		wantErr bool
	}{
		{name: "same request resumes", change: func(o *Options) {}},
		{name: "same _type values in another order resume", change: func(o *Options) { o.Types = []string{"Patient", "Condition"} }},
		{name: "other _since", change: func(o *Options) { o.Since = "2024-01-01T00:00:00Z" }, wantErr: true},
		{name: "other _type", change: func(o *Options) { o.Types = []string{"Patient"} }, wantErr: true},
		{name: "other Group", change: func(o *Options) { o.URL = strings.Replace(o.URL, "/G1", "/G2", 1) }, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, opts := exportedSample(t)
			tc.change(&opts)
			_, err := Export(context.Background(), http.DefaultClient, opts)
			if tc.wantErr != (err != nil) {
				t.Fatalf("rerun error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrOtherExport) || !strings.Contains(err.Error(), "empty folder") || !strings.Contains(err.Error(), "/G1/")) {
				t.Errorf("error %v should be ErrOtherExport naming the saved export and suggesting an empty folder", err)
			}
			if srv.Requests("kickoff") != 1 {
				t.Errorf("kick-offs %d, want 1", srv.Requests("kickoff"))
			}
		})
	}
}

// TestIssue12NextRunContinuesOnlyDownloadsWorthContinuing: a download cut short and given up on
// continues with Range in the next run when it had saved its state, which it does once it holds
// resumeStateAfter bytes; one cut before that starts over, and no small file costs a state file.
func TestIssue12NextRunContinuesOnlyDownloadsWorthContinuing(t *testing.T) {
	big := ndjson("Patient", 3*resumeStateAfter/100) // over twice resumeStateAfter: cut in half, past it
	cases := []struct {
		name      string
		body      []byte
		wantWhole int // full downloads the server sees in both runs
	}{
		{"DL-09 a download past resumeStateAfter continues with Range", big, 1},
		{"EC-15 a download cut before resumeStateAfter starts over", ndjson("Patient", 50), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := []bulktest.File{{Type: "Patient", Body: tc.body}}
			srv := bulktest.New(bulktest.Script{Files: files, FileFaults: map[int][]bulktest.Fault{0: {bulktest.Truncate}}})
			defer srv.Close()
			opts := testOptions(t, srv, newFakeClock())
			opts.Types, opts.MaxAttempts = []string{"Patient"}, 1
			if _, err := Export(context.Background(), http.DefaultClient, opts); err == nil {
				t.Fatal("the first run finished; its only download should have failed")
			}
			opts.MaxAttempts = 4
			if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
				t.Fatalf("second run: %v", err)
			}
			assertFiles(t, opts.Dir, files)
			if got := srv.FullDownloads(0); got != tc.wantWhole {
				t.Errorf("file sent whole %d times, want %d", got, tc.wantWhole)
			}
		})
	}
}
