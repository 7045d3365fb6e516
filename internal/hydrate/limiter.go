package hydrate

import (
	"context"
	"sync"
)

// limiter bounds requests in flight and adapts the bound to the server: it halves at once when
// the server throttles (a 429 or 503 the FHIR client is about to retry) and grows by one after
// a bound's worth of successful downloads, between 1 and max.
type limiter struct {
	mu       sync.Mutex
	cond     *sync.Cond
	bound    int
	max      int
	inflight int
	streak   int // successes since the bound last changed
}

func newLimiter(start, max int) *limiter {
	l := &limiter{bound: min(start, max), max: max}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// acquire waits for room, or for ctx to end.
func (l *limiter) acquire(ctx context.Context) error {
	defer wakeWhenDone(ctx, l.cond)()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.inflight >= l.bound {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.cond.Wait()
	}
	l.inflight++
	return nil
}

// release gives the room back; ok says the request succeeded (it counts toward growing).
func (l *limiter) release(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if ok {
		l.streak++
		if l.streak >= l.bound && l.bound < l.max {
			l.bound++
			l.streak = 0
		}
	}
	l.cond.Broadcast()
}

// throttled halves the bound: the server asked us to slow down.
func (l *limiter) throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bound = max(1, l.bound/2)
	l.streak = 0
}

// current returns the bound in force.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bound
}
