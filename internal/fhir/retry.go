package fhir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cumulus-etl/internal/redact"
)

// retryTransport resends a request after a retryable status (408, 429, 500, 502, 503, 504) or a
// transport error (reset, refused, timeout, DNS, a connection closed mid-answer), waiting
// Retry-After when the server sends one (floored at 1 s and capped at MaxRetryAfter) or else an
// exponential backoff with ±20% jitter. Every wait honours the request's context. It sends once
// when the context says NoRetry or the body cannot be replayed. When the attempts run out it
// returns the last response, so the caller sees the server's own error.
type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	rand   func() float64
	log    *slog.Logger
}

// retryStatuses are the answers worth sending again, as in Cumulus ETL (cfs http.py). 500 is
// among them because Oracle Health and Epic use it for passing trouble too.
var retryStatuses = map[int]bool{
	http.StatusRequestTimeout:      true,
	http.StatusTooManyRequests:     true,
	http.StatusInternalServerError: true,
	http.StatusBadGateway:          true,
	http.StatusServiceUnavailable:  true,
	http.StatusGatewayTimeout:      true,
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempts := t.policy.MaxAttempts
	if !RetryAllowed(ctx) || !replayable(req) {
		attempts = 1
	}
	r := req
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(r)
		if attempt >= attempts || !retryable(ctx, resp, err) {
			return resp, err
		}
		wait := t.delay(attempt, resp)
		attrs := []any{"url", redact.Of(req.URL), "attempt", attempt, "wait", wait.Round(100 * time.Millisecond)}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			attrs = append(attrs, "status", status)
			discard(resp)
		} else {
			attrs = append(attrs, "error", err)
		}
		if observe := retryObserver(ctx); observe != nil {
			observe(status, wait)
		}
		t.log.Warn("retrying FHIR request", attrs...)
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
		if r, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// delay is the wait before retry number attempt: the server's Retry-After when it sent a
// usable one, else base·2^(attempt-1) capped at MaxDelay, with ±20% jitter.
func (t *retryTransport) delay(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if ra := ParseRetryAfter(resp.Header.Get("Retry-After"), t.now()); ra.Usable() {
			if odd := ra.Oddity(); odd != "" {
				t.log.Warn(odd)
			}
			wait := max(ra.Delay, time.Second)
			if wait > t.policy.MaxRetryAfter {
				t.log.Warn("capping the server's Retry-After", "asked", wait, "cap", t.policy.MaxRetryAfter)
				wait = t.policy.MaxRetryAfter
			}
			return wait
		}
	}
	backoff := float64(t.policy.BaseDelay) * math.Pow(2, float64(attempt-1))
	backoff = min(backoff, float64(t.policy.MaxDelay))
	return time.Duration(backoff * (0.8 + 0.4*t.rand()))
}

// retryable reports whether the outcome of one attempt is worth another.
func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return ctx.Err() == nil && transientError(err)
	}
	return retryStatuses[resp.StatusCode]
}

// transientError recognises network trouble that a later attempt may not meet: connection reset,
// refused or aborted, broken pipe, unreachable network, timeouts, DNS failures, and a connection
// closed before the answer was complete, an HTTP/2 stream reset by the server. TLS and
// certificate errors are not among them.
func transientError(err error) bool {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case errors.As(err, new(h2StreamError)):
		return true
	}
	return false
}

// h2StreamError has the shape of golang.org/x/net/http2.StreamError, into which net/http's
// bundled HTTP/2 stream errors (RST_STREAM from the server: INTERNAL_ERROR, CANCEL, ...)
// convert themselves through errors.As (net/http h2_error.go).
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string {
	return fmt.Sprintf("http2 stream %d reset (code %d)", e.StreamID, e.Code)
}

// RetryAfterForm says how a Retry-After header was written.
type RetryAfterForm int

// The forms of Retry-After. The epoch forms are not HTTP but real servers send them (the SMART
// reference Bulk Data server's rate limiter sends an epoch time in milliseconds, and in seconds
// while a client stays blocked).
const (
	RetryAfterAbsent       RetryAfterForm = iota
	RetryAfterSeconds                     // delay-seconds (RFC 9110 §10.2.3)
	RetryAfterDate                        // an HTTP-date in any of its three forms, or with "+0000"
	RetryAfterEpochSeconds                // a Unix time in seconds
	RetryAfterEpochMillis                 // a Unix time in milliseconds
	RetryAfterInvalid                     // anything else: the caller falls back to its own backoff
)

// RetryAfter is a parsed Retry-After header.
type RetryAfter struct {
	Value string
	Form  RetryAfterForm
	Delay time.Duration // from now; negative for an instant in the past
}

// Usable reports whether the header gave a delay to wait.
func (r RetryAfter) Usable() bool { return r.Form != RetryAfterAbsent && r.Form != RetryAfterInvalid }

// Oddity describes a Retry-After that is not plain HTTP, for a warning; "" when it is.
func (r RetryAfter) Oddity() string {
	switch r.Form {
	case RetryAfterEpochSeconds:
		return fmt.Sprintf("the server's Retry-After %q is a Unix time in seconds, not a delay; waiting until then", r.Value)
	case RetryAfterEpochMillis:
		return fmt.Sprintf("the server's Retry-After %q is a Unix time in milliseconds, not a delay; waiting until then", r.Value)
	case RetryAfterInvalid:
		return fmt.Sprintf("the server's Retry-After %q is neither a number of seconds nor an HTTP-date; backing off on our own", r.Value)
	}
	return ""
}

// epochWindow is how far from now a number may lie, read as a Unix time, to be taken as one.
const epochWindow = 10 * 365 * 24 * time.Hour

// maxDelaySeconds bounds the numbers read as delay-seconds: bigger ones (31 years and more) are
// no plausible delay, and are garbage unless they read as a Unix time near now.
const maxDelaySeconds = 1_000_000_000

// ParseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3; ST-05, EC-01, EC-02):
// delay-seconds, an HTTP-date in any of its three forms (and the common "+0000" variant), or a
// number that reads as a Unix time within ten years of now, in seconds or milliseconds (no
// plausible delay is that large). "-5", "1.5", other garbage and numbers that are none of these
// are RetryAfterInvalid.
func ParseRetryAfter(value string, now time.Time) RetryAfter {
	value = strings.TrimSpace(value)
	r := RetryAfter{Value: value, Form: RetryAfterInvalid}
	switch {
	case value == "":
		r.Form = RetryAfterAbsent
	case strings.Trim(value, "0123456789") == "":
		n, err := strconv.ParseInt(value, 10, 64)
		switch {
		case err != nil:
		case near(time.Unix(n, 0), now):
			r.Form, r.Delay = RetryAfterEpochSeconds, time.Unix(n, 0).Sub(now)
		case near(time.UnixMilli(n), now):
			r.Form, r.Delay = RetryAfterEpochMillis, time.UnixMilli(n).Sub(now)
		case n < maxDelaySeconds:
			r.Form, r.Delay = RetryAfterSeconds, time.Duration(n)*time.Second
		}
	default:
		when, err := http.ParseTime(value)
		if err != nil {
			when, err = time.Parse(time.RFC1123Z, value)
		}
		if err == nil {
			r.Form, r.Delay = RetryAfterDate, when.Sub(now)
		}
	}
	return r
}

func near(t, now time.Time) bool {
	d := t.Sub(now)
	return d > -epochWindow && d < epochWindow
}

// Sleep waits d or until ctx ends, whichever is first, and returns ctx.Err() in the latter case.
func Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
