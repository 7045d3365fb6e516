package bulk

import (
	"context"
	"net/http"
	"time"

	"cumulus-etl/internal/fhir"
)

// Clock is the time source and sleeper the export uses, so tests can run waits instantly.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the real clock.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (WallClock) Sleep(ctx context.Context, d time.Duration) error { return fhir.Sleep(ctx, d) }

// minRetryDelay is the floor applied to every server-requested wait, so "0", negative values and
// dates in the past never cause a hot loop (ST-04, EC-02).
const minRetryDelay = time.Second

// parseRetryAfter reads a Retry-After header with fhir.ParseRetryAfter (delay-seconds or any
// HTTP-date form), floored at minRetryDelay so dates in the past never cause a hot loop. ok is
// false when the header is absent or garbage, so the caller falls back to its own backoff (ST-05).
func parseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	d, ok = fhir.ParseRetryAfter(h.Get("Retry-After"), now)
	if !ok {
		return 0, false
	}
	return max(d, minRetryDelay), true
}

// backoff returns base·2^attempt capped at limit (attempt counts from 0).
func backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
