package bulktest

import (
	"net/http"
	"strconv"
	"time"
)

// rateLimiter plays the SMART reference server's limiter (lib.ts rateLimiter): more than limit
// kick-off and status requests within a minute block the client for five minutes. The answer
// is 429 with Retry-After as a Unix time in milliseconds when the block starts, and in seconds
// while it lasts, as that server sends.
type rateLimiter struct {
	limit        int
	recent       []time.Time
	blockedUntil time.Time
	refused      int
}

const (
	rateWindow = time.Minute
	rateBlock  = 5 * time.Minute
)

// allow records a request at now and reports whether it may be served; when not, it answers it.
func (l *rateLimiter) allow(w http.ResponseWriter, now time.Time) bool {
	if now.Before(l.blockedUntil) {
		l.refused++
		w.Header().Set("Retry-After", strconv.FormatInt((l.blockedUntil.UnixMilli()+999)/1000, 10))
		http.Error(w, "Too Many Requests. Try again later.", http.StatusTooManyRequests)
		return false
	}
	kept := l.recent[:0]
	for _, t := range l.recent {
		if now.Sub(t) < rateWindow {
			kept = append(kept, t)
		}
	}
	l.recent = append(kept, now)
	if len(l.recent) > l.limit {
		l.refused++
		l.blockedUntil = now.Add(rateBlock)
		w.Header().Set("Retry-After", strconv.FormatInt(l.blockedUntil.UnixMilli(), 10))
		http.Error(w, "Too Many Requests. Try again later.", http.StatusTooManyRequests)
		return false
	}
	return true
}

// Throttled returns how many requests the rate limit (Script.RateLimit) refused.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limiter.refused
}

// rateLimited answers 429 and returns true when Script.RateLimit refuses r.
func (s *Server) rateLimited(w http.ResponseWriter) bool {
	if s.s.RateLimit <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.limiter.allow(w, s.now())
}
