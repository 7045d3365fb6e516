package hydrate

import (
	"context"
	"testing"
)

// TestLimiter_HalvesOnThrottleGrowsBack (issue 9 item 2, adaptive concurrency): a throttle
// halves the bound at once (never below 1); a bound's worth of successes adds one, up to max.
func TestLimiter_HalvesOnThrottleGrowsBack(t *testing.T) {
	l := newLimiter(4, 6)
	ctx := context.Background()
	steps := []struct {
		do   func()
		want int
	}{
		{func() { l.throttled() }, 2},
		{func() { l.throttled() }, 1},
		{func() { l.throttled() }, 1},
		{func() { l.acquire(ctx); l.release(true) }, 2},
		{func() { l.acquire(ctx); l.release(true) }, 2},
		{func() { l.acquire(ctx); l.release(true) }, 3},
		{func() { l.acquire(ctx); l.release(false) }, 3},
	}
	for i, s := range steps {
		s.do()
		if got := l.current(); got != s.want {
			t.Fatalf("step %d: bound %d, want %d", i, got, s.want)
		}
	}
	for range 20 {
		l.acquire(ctx)
		l.release(true)
	}
	if l.current() != 6 {
		t.Errorf("bound %d after many successes, want the max 6", l.current())
	}
	full := newLimiter(1, 1)
	full.acquire(ctx)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := full.acquire(cancelled); err == nil {
		t.Error("acquire on a full limiter ignored a cancelled context")
	}
}
