package bulk

import (
	"context"
	"sync"
)

// hostLimiter bounds concurrent downloads per host with additive-increase/multiplicative-decrease:
// the limit halves when the host answers 429 or 503 and grows by one after each limit's worth of
// successes, between 1 and max (the Cerner "20k tiny files" problem without hand tuning).
type hostLimiter struct {
	mu       sync.Mutex
	limit    int
	max      int
	inflight int
	wins     int
	wake     chan struct{} // closed and replaced whenever a slot may have opened
}

func newHostLimiter(start, max int) *hostLimiter {
	return &hostLimiter{limit: start, max: max, wake: make(chan struct{})}
}

// acquire waits for a slot or for ctx to end.
func (l *hostLimiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inflight < l.limit {
			l.inflight++
			l.mu.Unlock()
			return nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees a slot; throttled says the request was answered 429 or 503.
func (l *hostLimiter) release(throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if throttled {
		l.limit = max(1, l.limit/2)
		l.wins = 0
	} else if l.wins++; l.wins >= l.limit && l.limit < l.max {
		l.limit++
		l.wins = 0
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// current returns the present limit.
func (l *hostLimiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// limiters hands out one hostLimiter per host.
type limiters struct {
	mu         sync.Mutex
	start, max int
	hosts      map[string]*hostLimiter
}

func (ls *limiters) forHost(host string) *hostLimiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.hosts == nil {
		ls.hosts = map[string]*hostLimiter{}
	}
	l := ls.hosts[host]
	if l == nil {
		l = newHostLimiter(ls.start, ls.max)
		ls.hosts[host] = l
	}
	return l
}
