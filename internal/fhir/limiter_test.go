package fhir_test

import (
	"context"
	"slices"
	"testing"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
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

// TestLimiter_ObserveHalvesOnRetried429 (ST-05): requests sent with Observe halve the limit each
// time the client retries a 429 or 503 (Retry-After waited), not for other retried statuses.
func TestLimiter_ObserveHalvesOnRetried429(t *testing.T) {
	s := fhirtest.NewServer(t)
	s.Handle("GET Observation", (&okRoute{}).handle)
	c := newClient(t, s, s.Options("Observation"))
	l := fhir.NewLimiter(8, 8)
	s.Fail("Observation", fhirtest.RetryAfter(429, "1"), fhirtest.Status(503), fhirtest.Status(502))
	if _, err := get(l.Observe(context.Background()), c, "Observation"); err != nil {
		t.Fatal(err)
	}
	if got := l.Current(); got != 2 {
		t.Errorf("limit %d after a 429, a 503 and a 502, want 8/2/2 = 2", got)
	}
}

// TestCapabilities_SearchParamsAndInteractions: each resource's search parameters and
// interactions are read from the CapabilityStatement (a crawl picks its patient parameter from
// them); Oracle Health is told by its publisher.
func TestCapabilities_SearchParamsAndInteractions(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithPublisher("Oracle Health"), fhirtest.WithSearchTypes(
		fhirtest.SearchType{Type: "Condition", Params: []string{"patient", "subject", "_lastUpdated"}},
		fhirtest.SearchType{Type: "Patient", Params: []string{"_id"}}))
	caps := newClient(t, s, s.Options("Condition")).Capabilities()
	if got := caps.SearchParams["Condition"]; !slices.Equal(got, []string{"patient", "subject", "_lastUpdated"}) {
		t.Errorf("Condition's search parameters %v", got)
	}
	if got := caps.Interactions["Group"]; !slices.Contains(got, "read") {
		t.Errorf("Group's interactions %v", got)
	}
	if !caps.IsOracle() || caps.IsEpic() {
		t.Errorf("IsOracle %v, IsEpic %v", caps.IsOracle(), caps.IsEpic())
	}
}
