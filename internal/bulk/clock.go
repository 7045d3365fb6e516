package bulk

import (
	"context"
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
