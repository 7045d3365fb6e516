package bulk

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
)

// How long the export waits (issue 13 items 1, 2 and 9; ST-04, ST-06, EC-02, EC-23). No single
// wait is longer than its cap, and none goes past the export's time limit.
const (
	// MaxThrottleWait caps one wait asked for by a 429 (or a file's 503): the server's
	// Retry-After is honoured up to this, and asked again afterwards.
	MaxThrottleWait = time.Hour
	// MinStatusInterval is the least time between two requests to the status endpoint (polls,
	// manifest pages, manifest refreshes), whatever the server's Retry-After: at most 30 a minute.
	MinStatusInterval = 2 * time.Second
	// pollBase is the first wait between status checks when the server sends no Retry-After; it
	// doubles at each check up to Options.MaxPollInterval.
	pollBase = 2 * time.Second
	// failureBase is the first wait after a transient kick-off or status failure; it doubles at
	// each failure in a row up to failureCap.
	failureBase = 30 * time.Second
	failureCap  = 8 * time.Minute
	// minRetryDelay is the floor of every server-requested wait, so "0" and dates in the past
	// never cause a hot loop.
	minRetryDelay = time.Second
)

// waiter runs every wait of one export: it reads Retry-After (reporting each kind of oddity
// once), caps waits, keeps them inside the time limit and paces status requests.
type waiter struct {
	clock    Clock
	deadline time.Time
	limit    time.Duration // the export's time limit, for messages
	report   progress.Reporter

	mu     sync.Mutex
	noted  map[string]bool
	status sync.Mutex // held while pacing a status request
	last   time.Time  // when the last status request was let through
}

func newWaiter(clock Clock, started time.Time, limit time.Duration, report progress.Reporter) *waiter {
	return &waiter{clock: clock, deadline: started.Add(limit), limit: limit, report: report, noted: map[string]bool{}}
}

// once reports msg as a warning the first time key is seen in this export.
func (w *waiter) once(key, msg string) {
	w.mu.Lock()
	seen := w.noted[key]
	w.noted[key] = true
	w.mu.Unlock()
	if !seen {
		w.report.Warn(msg)
	}
}

// retryAfter reads h's Retry-After, floored at minRetryDelay. ok is false when it is absent or
// unusable, so the caller uses its own backoff. A Unix time (seconds or milliseconds) counts as
// the instant it names; such oddities and garbage are reported once per export.
func (w *waiter) retryAfter(h http.Header) (d time.Duration, ok bool) {
	ra := fhir.ParseRetryAfter(h.Get("Retry-After"), w.clock.Now())
	if odd := ra.Oddity(); odd != "" {
		w.once(fmt.Sprintf("retry-after-form-%d", ra.Form), odd)
	}
	if !ra.Usable() {
		return 0, false
	}
	return max(ra.Delay, minRetryDelay), true
}

// timedOut is the error of an export that ran out of time.
func (w *waiter) timedOut() error {
	return fmt.Errorf("%w: timed out waiting for the bulk FHIR export to finish (limit %s)", ErrExportFailed, w.limit)
}

// expired reports whether the time limit has passed.
func (w *waiter) expired() bool { return !w.clock.Now().Before(w.deadline) }

// sleep waits d, at most limit (saying so once per kind of wait when the server asked for
// more) and never past the export's time limit; it fails at once when no time is left.
func (w *waiter) sleep(ctx context.Context, d, limit time.Duration, kind string) error {
	if d > limit {
		w.once("cap-"+kind, fmt.Sprintf("the server asked to wait %s before the next %s; waiting %s at most each time",
			progress.HumanDuration(d), kind, progress.HumanDuration(limit)))
		d = limit
	}
	left := w.deadline.Sub(w.clock.Now())
	if left <= 0 {
		return w.timedOut()
	}
	return w.clock.Sleep(ctx, min(d, left))
}

// paceStatus waits until MinStatusInterval has passed since the last status request.
func (w *waiter) paceStatus(ctx context.Context) error {
	w.status.Lock()
	defer w.status.Unlock()
	if !w.last.IsZero() {
		if gap := MinStatusInterval - w.clock.Now().Sub(w.last); gap > 0 {
			if err := w.clock.Sleep(ctx, gap); err != nil {
				return err
			}
		}
	}
	w.last = w.clock.Now()
	return nil
}

// backoff returns base·2^attempt capped at limit (attempt counts from 0).
func backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
