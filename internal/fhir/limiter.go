package fhir

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Limiter bounds the requests in flight to a server and adapts the bound to it (additive
// increase, multiplicative decrease): the bound halves at once when the server throttles (a 429
// or 503 the client is about to retry, seen through Observe) and grows by one after a bound's
// worth of successful requests, between 1 and max. Callers that run many requests (note
// downloads, per-patient searches) share one. It is safe for concurrent use.
type Limiter struct {
	mu       sync.Mutex
	cond     *sync.Cond
	bound    int
	max      int
	inflight int
	streak   int // successes since the bound last changed
}

// NewLimiter returns a limiter whose bound starts at start (at least 1) and never exceeds ceiling.
func NewLimiter(start, ceiling int) *Limiter {
	ceiling = max(1, ceiling)
	l := &Limiter{bound: max(1, min(start, ceiling)), max: ceiling}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// Acquire waits for room, or for ctx to end (then it returns ctx's error and takes no room).
func (l *Limiter) Acquire(ctx context.Context) error {
	defer context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})()
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

// Release gives back the room Acquire took; ok says the request succeeded (it counts toward
// growing the bound).
func (l *Limiter) Release(ok bool) {
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

// Throttled halves the bound: the server asked us to slow down.
func (l *Limiter) Throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bound = max(1, l.bound/2)
	l.streak = 0
}

// Current returns the bound in force.
func (l *Limiter) Current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bound
}

// Observe returns a context whose requests call Throttled whenever the client is about to retry
// a 429 or 503 answer (Retry-After drives the wait itself; see WithRetryObserver).
func (l *Limiter) Observe(ctx context.Context) context.Context {
	return WithRetryObserver(ctx, func(status int, _ time.Duration) {
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			l.Throttled()
		}
	})
}
