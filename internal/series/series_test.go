package series

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cumulus-etl/internal/bulk"
)

const (
	reqA = "https://ehr/fhir/Group/A/$export?_type=Condition%2CPatient"
	reqB = "https://ehr/fhir/Group/B/$export?_type=Condition%2CPatient"
)

// export makes dir/name an export of request: complete (with its transaction time) or not.
func export(t *testing.T, dir, name, request, tx string, complete bool) {
	t.Helper()
	st := bulk.FolderState{ExportURL: request, Complete: complete, TransactionTime: tx}
	if err := bulk.WriteFolderState(filepath.Join(dir, name), st); err != nil {
		t.Fatal(err)
	}
}

// TestPlan_SinceAuto (issue 14 item 5): the window starts at the transaction time of the latest
// completed export of the same request (its _since aside); a newer unfinished one is gone on
// with; the first export of a series is whole; a folder that is an export itself, or holds
// other files, is refused.
func TestPlan_SinceAuto(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		setup     func(t *testing.T, dir string)
		want      Next
		wantErr   error
		newFolder bool
	}{
		{"missing folder: a whole export", func(*testing.T, string) {}, Next{Entry: Entry{Request: reqA}}, nil, true},
		{"the latest completed export of the same request", func(t *testing.T, dir string) {
			export(t, dir, "20260101T000000Z", reqA, "2026-01-01T00:00:00Z", true)
			export(t, dir, "20260201T000000Z", reqA+"&_since=2026-01-01T00%3A00%3A00Z", "2026-02-01T00:00:00Z", true)
			export(t, dir, "20260301T000000Z", reqB, "2026-03-01T00:00:00Z", true)
		}, Next{Entry: Entry{Request: reqA, Since: "2026-02-01T00:00:00Z", Previous: "20260201T000000Z"}}, nil, true},
		{"a newer unfinished export is gone on with", func(t *testing.T, dir string) {
			export(t, dir, "20260101T000000Z", reqA, "2026-01-01T00:00:00Z", true)
			next := &Next{Folder: filepath.Join(dir, "20260102T000000Z"), Entry: Entry{Request: reqA, Since: "2026-01-01T00:00:00Z", Previous: "20260101T000000Z"}}
			if err := Record(next); err != nil {
				t.Fatal(err)
			}
		}, Next{Resuming: true, Entry: Entry{Request: reqA, Since: "2026-01-01T00:00:00Z", Previous: "20260101T000000Z"}}, nil, false},
		{"an older unfinished one is not", func(t *testing.T, dir string) {
			export(t, dir, "20260101T000000Z", reqA, "", false)
			export(t, dir, "20260201T000000Z", reqA, "2026-02-01T00:00:00Z", true)
		}, Next{Entry: Entry{Request: reqA, Since: "2026-02-01T00:00:00Z", Previous: "20260201T000000Z"}}, nil, true},
		{"a folder that is an export itself", func(t *testing.T, dir string) { export(t, dir, ".", reqA, "2026-01-01T00:00:00Z", true) },
			Next{}, ErrNotASeries, false},
		{"a folder holding other files", func(t *testing.T, dir string) {
			os.MkdirAll(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600)
		}, Next{}, ErrNotASeries, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "series")
			tc.setup(t, dir)
			got, err := Plan(dir, reqA, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got.Entry != tc.want.Entry || got.Resuming != tc.want.Resuming {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.newFolder && got.Folder != filepath.Join(dir, "20261201T120000.000Z") {
				t.Errorf("new folder %s", got.Folder)
			}
		})
	}
}
