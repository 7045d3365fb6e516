package bulk

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/redact"
)

// pollState is what the status checks of one walk through the manifest remember: how many
// in-progress waits so far (the backoff grows with them, also across partial manifests) and how
// many transient failures in a row.
type pollState struct {
	waits, failures int
}

// pollPage polls a status URL (or a manifest page URL) until it answers 200 with a manifest (again = 0),
// or, with partial manifests on, 202 with a manifest body (again = the wait before re-polling). It implements ST-03..ST-09: Retry-After in
// seconds or as a date; exponential backoff otherwise; 202 waits capped by MaxPollInterval, a
// 429's by MaxThrottleWait and not counted as a failure; transient errors (see errorIsTransient)
// retried MaxAttempts times; every request paced by MinStatusInterval; the total bounded by Timeout.
func (r *run) pollPage(ctx context.Context, pageURL string, ps *pollState) (m *manifest, again time.Duration, err error) {
	for {
		if r.wait.expired() {
			return nil, 0, r.wait.timedOut()
		}
		if err := r.wait.paceStatus(ctx); err != nil {
			return nil, 0, err
		}
		step, err := r.pollOnce(ctx, pageURL, ps)
		if err != nil || step.manifest != nil {
			return step.manifest, step.delay, err
		}
		delay := max(step.delay, MinStatusInterval) // never more than the documented rate (item 2)
		r.progress.Status(waitingText(step.text, r.opts.Clock.Now().Sub(r.started), min(delay, step.limit)))
		if err := r.wait.sleep(ctx, delay, step.limit, step.kind); err != nil {
			return nil, 0, err
		}
	}
}

// pollStep is what one status request leads to: a manifest (delay 0 when complete, > 0 for a
// partial 202 page), or a wait of delay (at most limit) before the next try.
type pollStep struct {
	manifest *manifest
	delay    time.Duration
	limit    time.Duration
	kind     string // what the wait is for, in messages
	text     string // the server's X-Progress, or why we wait
}

// pollOnce makes one status request.
func (r *run) pollOnce(ctx context.Context, pageURL string, ps *pollState) (pollStep, error) {
	resp, err := send(ctx, r.client, http.MethodGet, pageURL, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		if ctx.Err() != nil {
			return pollStep{}, ctx.Err()
		}
		_ = r.log.statusError(0, nil, err.Error(), nil)
		if fhir.Unfixable(err) {
			return pollStep{}, fmt.Errorf("%w: %w", ErrExportFailed, err)
		}
		return r.failureStep(nil, ps, err)
	}
	body, err := readBody(resp)
	if err != nil {
		_ = r.log.statusError(resp.StatusCode, nil, err.Error(), resp.Header)
		return r.failureStep(nil, ps, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		m, err := parseManifest(body, pageURL)
		if err != nil {
			return pollStep{}, fmt.Errorf("%w: %w", ErrExportFailed, err)
		}
		ps.failures = 0
		return pollStep{manifest: m}, nil
	case code == http.StatusAccepted:
		ps.failures = 0
		step := pollStep{limit: r.opts.MaxPollInterval, kind: "status check", text: strings.TrimSpace(resp.Header.Get("X-Progress"))}
		if len(step.text) > 100 {
			step.text = step.text[:100]
		}
		delay, ok := r.wait.retryAfter(resp.Header)
		if !ok {
			delay = backoff(pollBase, r.opts.MaxPollInterval, ps.waits)
		}
		ps.waits++
		step.delay = delay
		if r.opts.PartialManifests && strings.Contains(string(body), `"output"`) {
			if m, err := parseManifest(body, pageURL); err == nil {
				step.manifest, step.delay = m, min(delay, step.limit) // EC-40: a partial manifest
			}
		}
		return step, nil
	case code == http.StatusTooManyRequests:
		_ = r.log.statusError(code, bodyForLog(body), errorMessage(resp, body), resp.Header)
		delay, ok := r.wait.retryAfter(resp.Header) // EC-23: not a failure
		if !ok {
			delay = backoff(pollBase, MaxThrottleWait, ps.waits)
			ps.waits++
		}
		return pollStep{delay: delay, limit: MaxThrottleWait, kind: "request after a 429", text: "the server asked us to slow down"}, nil
	case errorIsTransient(code, body):
		msg := errorMessage(resp, body)
		_ = r.log.statusError(code, bodyForLog(body), msg, resp.Header)
		return r.failureStep(resp.Header, ps, fmt.Errorf("status %s: %s", redact.URL(pageURL), msg))
	}
	msg := errorMessage(resp, body)
	_ = r.log.statusError(resp.StatusCode, bodyForLog(body), msg, resp.Header)
	if resp.StatusCode == http.StatusUnauthorized {
		// The client already got one fresh token and tried again (AU-30, issue 13 item 7).
		return pollStep{}, fmt.Errorf("%w: %w: the server refused the status request %s even with a fresh token: %s",
			ErrExportFailed, fhir.ErrAuthFailed, redact.URL(pageURL), msg)
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		// EC-43, ST-09: the job expired, was deleted, or the server restarted; polling cannot help.
		return pollStep{}, fmt.Errorf("%w: the server no longer knows this export (%s answered %s); it has expired or was "+
			"cancelled, so start a new export: run again with --cancel to forget it, or use an empty folder", ErrExportFailed, redact.URL(pageURL), msg)
	}
	return pollStep{}, fmt.Errorf("%w: unexpected status code from %s: %s", ErrExportFailed, redact.URL(pageURL), msg)
}

// failureStep counts a transient failure and returns the wait before retrying, or the error
// once MaxAttempts tries have failed in a row (EC-21). Earlier 429s do not lengthen it (item 9).
func (r *run) failureStep(h http.Header, ps *pollState, cause error) (pollStep, error) {
	ps.failures++
	if ps.failures >= r.opts.MaxAttempts {
		return pollStep{}, fmt.Errorf("%w: gave up after %d tries: %w", ErrExportFailed, ps.failures, cause)
	}
	delay := failureDelay(h, ps.failures, r.wait)
	return pollStep{delay: delay, limit: failureCap, kind: "try after an error",
		text: fmt.Sprintf("retrying after an error (%d of %d)", ps.failures, r.opts.MaxAttempts)}, nil
}

// failureDelay is the wait after the n-th transient kick-off or status failure in a row: the
// backoff, or the server's Retry-After when that is shorter.
func failureDelay(h http.Header, n int, w *waiter) time.Duration {
	delay := backoff(failureBase, failureCap, n-1)
	if ra, ok := w.retryAfter(h); ok {
		delay = min(ra, delay)
	}
	return delay
}

// waitingText is the status shown while the server prepares the export.
func waitingText(serverText string, waited, next time.Duration) string {
	if serverText == "" {
		serverText = "waiting for the server"
	}
	return fmt.Sprintf("%s (%s so far, next check in %s)", serverText, progress.HumanDuration(waited), progress.HumanDuration(next))
}
