package bulk

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
)

// oo is an OperationOutcome body with one issue.
func oo(severity, code, text string) string {
	return `{"resourceType":"OperationOutcome","issue":[{"severity":"` + severity + `","code":"` + code + `","diagnostics":"` + text + `"}]}`
}

// TestFaultsEndWithCleanFiles runs one export per checklist fault against the fake server;
// each must end with DIR byte-identical to the server's files, as a clean run does.
func TestFaultsEndWithCleanFiles(t *testing.T) {
	date := time.Date(2030, 1, 1, 0, 10, 0, 0, time.UTC)
	bigLine := []byte(`{"resourceType":"Binary","id":"big","data":"` + strings.Repeat("QUJD", 50<<20/4) + `"}` + "\n")
	cases := []struct {
		name   string
		script bulktest.Script
		opts   func(*Options)
		doer   func(*bulktest.Server) Doer
		check  func(t *testing.T, srv *bulktest.Server, res *Result, clock *fakeClock)
	}{
		{name: "clean run", check: func(t *testing.T, srv *bulktest.Server, res *Result, _ *fakeClock) {
			if srv.Requests("kickoff") != 1 || srv.Requests("delete") != 1 || res.GroupName != "G1" || res.Files != 5 {
				t.Errorf("kickoffs %d deletes %d result %+v", srv.Requests("kickoff"), srv.Requests("delete"), res)
			}
			if want := time.Date(2015, 2, 7, 11, 28, 17, 239e6, time.UTC); !res.TransactionTime.Equal(want) {
				t.Errorf("transactionTime %v, want %v", res.TransactionTime, want)
			}
			// The text ("warning1") is withheld: it can hold PHI (issue 10 item 12).
			if want := `1 information "informational" issue (first at error/OperationOutcome.000.ndjson:1)`; len(res.Messages) != 1 || res.Messages[0] != want {
				t.Errorf("messages %q, want [%s]", res.Messages, want)
			}
		}},
		{name: "EC-01 Retry-After HTTP-date honoured (capped by max poll interval)",
			script: bulktest.Script{StatusReplies: []bulktest.Reply{{Status: 202, Header: map[string]string{"Retry-After": date.Format(http.TimeFormat), "X-Progress": "50% complete"}}}},
			opts:   func(o *Options) { o.MaxPollInterval = time.Hour },
			check:  wantWaits(10 * time.Minute)},
		{name: "ST-04 huge Retry-After capped by max poll interval",
			script: bulktest.Script{StatusReplies: []bulktest.Reply{{Status: 202, Header: map[string]string{"Retry-After": "18000"}}}},
			check:  wantWaits(5 * time.Minute)},
		{name: "EC-02 garbage and past Retry-After fall back without a hot loop (a past date waits the least status interval)",
			script: bulktest.Script{StatusReplies: []bulktest.Reply{
				{Status: 202, Header: map[string]string{"Retry-After": "-5"}},
				{Status: 202, Header: map[string]string{"Retry-After": "abc"}},
				{Status: 202, Header: map[string]string{"Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT"}},
				{Status: 202}}},
			check: wantWaits(2*time.Second, 4*time.Second, MinStatusInterval, 16*time.Second)},
		{name: "EC-23 status 429 storm is waited out whole and not counted as failures",
			script: bulktest.Script{StatusReplies: repeat(bulktest.Reply{Status: 429, Header: map[string]string{"Retry-After": "3600"}}, 8)},
			check:  wantWaits(repeatDur(time.Hour, 8)...)},
		{name: "EC-24 kick-off 429 means another export runs: wait and retry",
			script: bulktest.Script{KickoffReplies: repeat(bulktest.Reply{Status: 429, Header: map[string]string{"Retry-After": "60"}}, 3)},
			check: func(t *testing.T, srv *bulktest.Server, _ *Result, clock *fakeClock) {
				wantWaits(time.Minute, time.Minute, time.Minute)(t, srv, nil, clock)
				if srv.Requests("kickoff") != 4 {
					t.Errorf("kick-offs %d, want 4", srv.Requests("kickoff"))
				}
			}},
		{name: "EC-21 5xx burst on status is retried",
			script: bulktest.Script{StatusReplies: []bulktest.Reply{{Status: 503}, {Status: 502, Header: map[string]string{"Retry-After": "20"}}, {Status: 500, Body: oo("error", "transient", "try later")}}},
			check:  wantWaits(30*time.Second, 20*time.Second, 2*time.Minute)},
		{name: "EC-15 truncated body resumed with Range",
			script: bulktest.Script{FileFaults: map[int][]bulktest.Fault{1: {bulktest.Truncate}}},
			check:  wantFullDownloads(1, 1)},
		{name: "EC-15 reset connection resumed with Range",
			script: bulktest.Script{FileFaults: map[int][]bulktest.Fault{1: {bulktest.Reset, bulktest.Reset}}},
			check:  wantFullDownloads(1, 1)},
		{name: "EC-15 truncated gzip transfer resumed with an identity Range",
			script: bulktest.Script{Gzip: true, FileFaults: map[int][]bulktest.Fault{1: {bulktest.Truncate}}},
			check:  wantFullDownloads(1, 1)},
		{name: "DL-09 truncated body without Accept-Ranges downloaded again whole",
			script: bulktest.Script{NoRanges: true, FileFaults: map[int][]bulktest.Fault{1: {bulktest.Truncate}}},
			check:  wantFullDownloads(1, 2)},
		{name: "DL-06 429 and 503 storm on files backs off and finishes",
			script: bulktest.Script{FileFaults: map[int][]bulktest.Fault{
				0: {bulktest.Throttle, bulktest.Throttle, bulktest.Unavail}, 1: {bulktest.Throttle, bulktest.Unavail, bulktest.Throttle}, 2: {bulktest.Unavail}}}},
		{name: "EC-13 expired link (410) refreshes the manifest once",
			script: bulktest.Script{FileFaults: map[int][]bulktest.Fault{2: {bulktest.Expired}}},
			check: func(t *testing.T, srv *bulktest.Server, _ *Result, _ *fakeClock) {
				if srv.Requests("status") != 2 {
					t.Errorf("status requests %d, want 2 (one manifest refresh)", srv.Requests("status"))
				}
			}},
		{name: "EC-14 expired signed URL (403) on the capability host refreshes the manifest",
			script: bulktest.Script{NoToken: true, FileFaults: map[int][]bulktest.Fault{0: {bulktest.Forbidden}}}},
		{name: "EC-44 HTML login page instead of ndjson is treated as an expired link",
			script: bulktest.Script{FileFaults: map[int][]bulktest.Fault{1: {bulktest.HTMLPage}}}},
		{name: "EC-11 capability URLs on another host never get the token",
			script: bulktest.Script{NoToken: true, Token: "secret"},
			doer:   func(s *bulktest.Server) Doer { return &tokenDoer{srv: s} },
			check: func(t *testing.T, srv *bulktest.Server, _ *Result, _ *fakeClock) {
				if srv.AuthorizationSeenOnFileHost() {
					t.Error("Authorization was sent to a capability URL")
				}
			}},
		{name: "EC-08 token expiry mid-download is re-authorized",
			script: bulktest.Script{Token: "t", TokenLifetime: 4},
			doer:   func(s *bulktest.Server) Doer { return &tokenDoer{srv: s} }},
		{name: "EC-45 gzip body without Content-Encoding is sniffed",
			script: bulktest.Script{GzipNoHeader: true}},
		{name: "DL-02 gzip Content-Encoding is decoded",
			script: bulktest.Script{Gzip: true}},
		{name: "EC-06 relative Content-Location is resolved",
			script: bulktest.Script{RelativeStatus: true}},
		{name: "EC-30 relative file URLs are resolved against the status URL",
			script: bulktest.Script{RelativeFiles: true}},
		{name: "MF-09 paged manifest followed through link next",
			script: bulktest.Script{PageSize: 2},
			check: func(t *testing.T, srv *bulktest.Server, res *Result, _ *fakeClock) {
				if res.Files != 5 {
					t.Errorf("files %d, want 5", res.Files)
				}
			}},
		{name: "ST-11 partial manifest files download while the export runs",
			script: bulktest.Script{Partial: true, PageSize: 2},
			opts:   func(o *Options) { o.PartialManifests = true },
			check: func(t *testing.T, srv *bulktest.Server, _ *Result, _ *fakeClock) {
				if srv.FullDownloads(0) != 1 {
					t.Errorf("file 0 downloaded %d times, want once", srv.FullDownloads(0))
				}
			}},
		{name: "EC-46 count mismatch downloads once more then warns",
			script: bulktest.Script{Counts: map[int]int64{0: 99}},
			check:  wantFullDownloads(0, 2)},
		{name: "VD-04 POST-only server gets a Parameters kick-off after 405",
			script: bulktest.Script{RequirePost: true},
			check: func(t *testing.T, srv *bulktest.Server, _ *Result, _ *fakeClock) {
				bodies := srv.KickoffBodies()
				if len(bodies) != 2 || !strings.Contains(bodies[1], `"resourceType":"Parameters"`) || !strings.Contains(bodies[1], `{"name":"_type","valueString":"Patient"}`) {
					t.Errorf("kick-off bodies %q", bodies)
				}
			}},
		{name: "EC-18 a 50 MB line is streamed and checked",
			script: bulktest.Script{Files: []bulktest.File{{Type: "Binary", Body: bigLine}}},
			opts:   func(o *Options) { o.Types = []string{"Binary"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.script.Files == nil {
				tc.script.Files = sampleFiles()
			}
			srv := bulktest.New(tc.script)
			defer srv.Close()
			clock := newFakeClock()
			opts := testOptions(t, srv, clock)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			var doer Doer = http.DefaultClient
			if tc.doer != nil {
				doer = tc.doer(srv)
			}
			res, err := Export(context.Background(), doer, opts)
			if err != nil {
				t.Fatalf("Export: %v\nprogress:\n%s", err, opts.Progress)
			}
			assertFiles(t, opts.Dir, tc.script.Files)
			if tc.check != nil {
				tc.check(t, srv, res, clock)
			}
		})
	}
}

func repeat(r bulktest.Reply, n int) []bulktest.Reply {
	out := make([]bulktest.Reply, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func repeatDur(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// wantWaits checks the export slept exactly these durations.
func wantWaits(want ...time.Duration) func(*testing.T, *bulktest.Server, *Result, *fakeClock) {
	return func(t *testing.T, _ *bulktest.Server, _ *Result, clock *fakeClock) {
		t.Helper()
		got := clock.waits()
		if len(got) != len(want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("waits %v, want %v", got, want)
			}
		}
	}
}

// wantFullDownloads checks file i was sent whole exactly n times.
func wantFullDownloads(i, n int) func(*testing.T, *bulktest.Server, *Result, *fakeClock) {
	return func(t *testing.T, srv *bulktest.Server, _ *Result, _ *fakeClock) {
		t.Helper()
		if got := srv.FullDownloads(i); got != n {
			t.Errorf("file %d sent whole %d times, want %d", i, got, n)
		}
	}
}

// TestExportFailures checks failures that must stop the export without DELETE (ST-20).
func TestExportFailures(t *testing.T) {
	cases := []struct {
		name    string
		script  bulktest.Script
		wantErr error
		wantMsg string
		deletes int
	}{
		{name: "EC-22 status 500 processing is terminal",
			script:  bulktest.Script{StatusReplies: []bulktest.Reply{{Status: 500, Body: oo("fatal", "processing", "export crashed")}}},
			wantErr: ErrExportFailed, wantMsg: "export crashed"},
		{name: "EC-21 5xx beyond the retry budget fails",
			script:  bulktest.Script{StatusReplies: repeat(bulktest.Reply{Status: 503}, 10)},
			wantErr: ErrExportFailed, wantMsg: "gave up after 4 tries"},
		{name: "KO-33 kick-off 400 is terminal",
			script:  bulktest.Script{KickoffReplies: []bulktest.Reply{{Status: 400, Body: oo("error", "invalid", "bad _type")}}},
			wantErr: ErrExportFailed, wantMsg: "bad _type"},
		{name: "EC-16 a line that is not JSON fails with its line number",
			script:  bulktest.Script{Files: []bulktest.File{{Type: "Patient", Body: append(ndjson("Patient", 2), "{\"resourceType\":\"Patient\",\"id\":\"x\"\n"...)}}},
			wantErr: ErrExportFailed, wantMsg: "line 3"},
		{name: "DL-13 a line of the wrong resourceType fails",
			script:  bulktest.Script{Files: []bulktest.File{{Type: "Patient", Body: append(ndjson("Patient", 1), ndjson("Condition", 1)...)}}},
			wantErr: ErrExportFailed, wantMsg: `resourceType "Condition" where the manifest says "Patient"`},
		{name: "MF-20 error OperationOutcomes fail the run after every file is downloaded",
			script: bulktest.Script{Files: append(sampleFiles(), bulktest.File{Kind: "error", Type: "OperationOutcome",
				Body: []byte(oo("error", "processing", "err1") + "\n" + oo("warning", "informational", "warn2") + "\n")})},
			wantErr: ErrServerReportedErrors, wantMsg: "errors occurred during export:\n - 1 error \"processing\" issue (first at error/OperationOutcome.001.ndjson:1)", deletes: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := bulktest.New(tc.script)
			defer srv.Close()
			opts := testOptions(t, srv, newFakeClock())
			_, err := Export(context.Background(), http.DefaultClient, opts)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
			}
			if errors.Is(err, ErrServerReportedErrors) && strings.Contains(err.Error(), "err1") {
				t.Errorf("error %q prints an error file's diagnostics, which can hold PHI", err)
			}
			if srv.Requests("delete") != tc.deletes {
				t.Errorf("DELETE sent %d times, want %d", srv.Requests("delete"), tc.deletes)
			}
			if tc.deletes > 0 {
				assertFiles(t, opts.Dir, tc.script.Files)
			}
		})
	}
}
