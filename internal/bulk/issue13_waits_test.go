package bulk

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
)

// TestIssue13Item1RetryAfterIsCappedAndReadAsAnInstantWhenItIsOne: a Retry-After that is a Unix
// time (milliseconds, as the SMART reference server's rate limiter sends, or seconds) is waited
// until that instant, not for centuries; no single wait exceeds its cap or the time left;
// garbage falls back to the backoff; and each oddity is reported once, however often it comes.
func TestIssue13Item1RetryAfterIsCappedAndReadAsAnInstantWhenItIsOne(t *testing.T) {
	start := newFakeClock().Now()
	epochMs := func(d time.Duration) string { return strconv.FormatInt(start.Add(d).UnixMilli(), 10) }
	epochS := func(d time.Duration) string { return strconv.FormatInt(start.Add(d).Unix(), 10) }
	throttled := func(ra string) bulktest.Reply {
		return bulktest.Reply{Status: 429, Header: map[string]string{"Retry-After": ra}}
	}
	cases := []struct {
		name     string
		replies  []bulktest.Reply
		timeout  time.Duration
		waits    []time.Duration
		warnings []string // each must appear exactly once
		wantErr  string
	}{
		{name: "epoch milliseconds are an instant, reported once",
			replies: []bulktest.Reply{throttled(epochMs(5 * time.Minute)), throttled(epochMs(10 * time.Minute))},
			waits:   []time.Duration{5 * time.Minute, 5 * time.Minute}, warnings: []string{"is a Unix time in milliseconds"}},
		{name: "epoch seconds are an instant",
			replies: []bulktest.Reply{throttled(epochS(90 * time.Second))},
			waits:   []time.Duration{90 * time.Second}, warnings: []string{"is a Unix time in seconds"}},
		{name: "an instant far ahead is capped, and the cap said once",
			replies: []bulktest.Reply{throttled(epochMs(100 * 24 * time.Hour)), throttled(epochMs(100 * 24 * time.Hour))},
			waits:   []time.Duration{MaxThrottleWait, MaxThrottleWait}, warnings: []string{"waiting 1h at most"}},
		{name: "garbage falls back to the backoff, reported once",
			replies: []bulktest.Reply{throttled("soon"), throttled("later")},
			waits:   []time.Duration{2 * time.Second, 4 * time.Second}, warnings: []string{"neither a number of seconds nor an HTTP-date"}},
		{name: "never past the time left",
			replies: []bulktest.Reply{throttled("3600"), throttled("3600")}, timeout: 10 * time.Minute,
			waits: []time.Duration{10 * time.Minute}, wantErr: "timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := bulktest.New(bulktest.Script{Files: sampleFiles(), StatusReplies: tc.replies})
			defer srv.Close()
			clock := newFakeClock()
			opts := testOptions(t, srv, clock)
			opts.Timeout = tc.timeout
			_, err := Export(context.Background(), http.DefaultClient, opts)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			wantWaits(tc.waits...)(t, srv, nil, clock)
			out := opts.Progress.(logBuffer).String()
			for _, w := range tc.warnings {
				if n := strings.Count(out, w); n != 1 {
					t.Errorf("%q reported %d times, want once:\n%s", w, n, out)
				}
			}
		})
	}
}

// TestIssue13Item1And2ReferenceRateLimitIsNeverTripped runs an export with partial manifests
// against a server that, like the SMART reference server, blocks a client for five minutes
// after more than 60 kick-off and status requests in a minute, and answers its 202s with
// Retry-After: 1. The export paces its status requests (MinStatusInterval), so it is never
// refused; and when it is refused (a stricter limit), it waits until the instant the epoch
// milliseconds name, then finishes.
func TestIssue13Item1And2ReferenceRateLimitIsNeverTripped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     int
		throttled bool
	}{{"60 a minute: never refused", 60, false}, {"3 a minute: refused, waited out, finished", 3, true}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			srv := bulktest.New(bulktest.Script{Files: sampleFiles(), Partial: true, PartialPolls: 200, RateLimit: tc.limit, Now: clock.Now})
			defer srv.Close()
			opts := testOptions(t, srv, clock)
			opts.PartialManifests = true
			if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
				t.Fatalf("Export: %v", err)
			}
			assertFiles(t, opts.Dir, sampleFiles())
			if got := srv.Throttled() > 0; got != tc.throttled {
				t.Errorf("requests refused: %d", srv.Throttled())
			}
			if polls, elapsed := srv.Requests("status"), clock.Now().Sub(newFakeClock().Now()); float64(polls) > elapsed.Minutes()*30+1 {
				t.Errorf("%d status requests in %s: more than 30 a minute", polls, elapsed)
			}
			for _, w := range clock.waits() {
				if w > 5*time.Minute {
					t.Errorf("a wait of %s", w)
				}
			}
		})
	}
}

// TestIssue13Item2PollingBacksOffFromAFewSeconds: without Retry-After, status checks start a few
// seconds apart and double up to --max-poll-interval, also across partial manifests (the backoff
// used to start over at every partial page).
func TestIssue13Item2PollingBacksOffFromAFewSeconds(t *testing.T) {
	clock := newFakeClock()
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(), Partial: true, PartialPolls: 9, PartialNoWait: true})
	defer srv.Close()
	opts := testOptions(t, srv, clock)
	opts.PartialManifests = true
	if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
		t.Fatalf("Export: %v", err)
	}
	var polls []time.Duration
	for _, w := range clock.waits() {
		if w >= MinStatusInterval {
			polls = append(polls, w)
		}
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute}
	if len(polls) != len(want) {
		t.Fatalf("waits %v, want %v", polls, want)
	}
	for i := range want {
		if polls[i] != want[i] {
			t.Fatalf("waits %v, want %v", polls, want)
		}
	}
}

// TestIssue13Item4OneRuleForOperationOutcomesOnKickoffAndStatus: on both paths an
// OperationOutcome decides (ST-08, ST-09): a 500 whose issue is a fatal code ("processing", as the
// reference server's file_generation_failed sends) fails at once without a wait; one with a
// transient code is retried; a plain 5xx without one is retried a few times with backoff.
func TestIssue13Item4OneRuleForOperationOutcomesOnKickoffAndStatus(t *testing.T) {
	fatal := bulktest.Reply{Status: 500, Body: oo("error", "processing", "File generation failed")}
	transient := bulktest.Reply{Status: 500, Body: oo("error", "transient", "try later")}
	plain := bulktest.Reply{Status: 503}
	for _, path := range []string{"kick-off", "status"} {
		script := func(replies ...bulktest.Reply) bulktest.Script {
			if path == "kick-off" {
				return bulktest.Script{Files: sampleFiles(), KickoffReplies: replies}
			}
			return bulktest.Script{Files: sampleFiles(), StatusReplies: replies}
		}
		cases := []struct {
			name    string
			script  bulktest.Script
			waits   []time.Duration
			wantErr string
		}{
			{name: "fatal OperationOutcome fails at once", script: script(fatal), wantErr: "File generation failed"},
			{name: "transient OperationOutcome is retried", script: script(transient, transient), waits: []time.Duration{30 * time.Second, time.Minute}},
			{name: "plain 5xx is retried a few times", script: script(repeat(plain, 10)...), wantErr: "503",
				waits: []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}},
		}
		for _, tc := range cases {
			t.Run(path+": "+tc.name, func(t *testing.T) {
				srv := bulktest.New(tc.script)
				defer srv.Close()
				clock := newFakeClock()
				opts := testOptions(t, srv, clock)
				_, err := Export(context.Background(), http.DefaultClient, opts)
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (!errors.Is(err, ErrExportFailed) || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				wantWaits(tc.waits...)(t, srv, nil, clock)
			})
		}
	}
}

// TestIssue13Item9ThrottlingDoesNotSlowLaterRetries: after three 429s on a file, a truncated body
// is retried after the first backoff step (1 s), not after a backoff that counted the 429s.
func TestIssue13Item9ThrottlingDoesNotSlowLaterRetries(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles()[:1], FileFaults: map[int][]bulktest.Fault{
		0: {bulktest.Throttle, bulktest.Throttle, bulktest.Throttle, bulktest.Truncate}}})
	defer srv.Close()
	clock := newFakeClock()
	opts := testOptions(t, srv, clock)
	opts.Types = []string{"Patient"}
	if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
		t.Fatalf("Export: %v", err)
	}
	wantWaits(time.Second, time.Second, time.Second, time.Second)(t, srv, nil, clock)
}
