package fhir_test

import (
	"context"
	"testing"

	"cumulus-etl/internal/fhir"
)

// TestLimiter_HalvesOnThrottleGrowsBack (adaptive concurrency, ST-05): a throttle halves the
// bound at once (never below 1); a bound's worth of successes adds one, up to the ceiling; a
// full limiter gives up when the context ends.
func TestLimiter_HalvesOnThrottleGrowsBack(t *testing.T) {
	l := fhir.NewLimiter(4, 6)
	ctx := context.Background()
	pass := func(ok bool) func() {
		return func() {
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			l.Release(ok)
		}
	}
	steps := []struct {
		do   func()
		want int
	}{
		{l.Throttled, 2},
		{l.Throttled, 1},
		{l.Throttled, 1},
		{pass(true), 2},
		{pass(true), 2},
		{pass(true), 3},
		{pass(false), 3},
	}
	for i, s := range steps {
		s.do()
		if got := l.Current(); got != s.want {
			t.Fatalf("step %d: bound %d, want %d", i, got, s.want)
		}
	}
	for range 20 {
		pass(true)()
	}
	if l.Current() != 6 {
		t.Errorf("bound %d after many successes, want the ceiling 6", l.Current())
	}
	full := fhir.NewLimiter(1, 1)
	if err := full.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := full.Acquire(cancelled); err == nil {
		t.Error("Acquire on a full limiter ignored a cancelled context")
	}
}
