package bulk

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/redact"
)

// pollBase is the first wait between status checks when the server sends no Retry-After.
const pollBase = 2 * time.Second

// pollPage polls a status URL (or a manifest page URL) until it answers 200 with a manifest (again = 0),
// or, with partial manifests on, 202 with a manifest body (again = the wait before re-polling). It implements ST-03..ST-09: Retry-After in
// seconds or as a date; exponential backoff otherwise; 202 waits capped by MaxPollInterval while
// a 429's wait is honoured whole and not counted as a failure; transient errors (408, 5xx,
// transient OperationOutcomes, network) retried MaxAttempts times; the total bounded by Timeout.
func (r *run) pollPage(ctx context.Context, pageURL string) (m *manifest, again time.Duration, err error) {
	waits, failures := 0, 0
	for {
		if r.opts.Clock.Now().Sub(r.started) > r.opts.Timeout {
			return nil, 0, fmt.Errorf("%w: timed out waiting for the bulk FHIR export to finish (limit %s)", ErrExportFailed, r.opts.Timeout)
		}
		delay, progress, m, err := r.pollOnce(ctx, pageURL, &waits, &failures)
		if err != nil || m != nil {
			return m, delay, err
		}
		r.progress.Status(waitingText(progress, r.opts.Clock.Now().Sub(r.started), delay))
		if err := r.opts.Clock.Sleep(ctx, delay); err != nil {
			return nil, 0, err
		}
	}
}

// pollOnce makes one status request. It returns either a manifest (delay 0 when complete, >0
// for a partial 202 page), an error, or the delay before the next try.
func (r *run) pollOnce(ctx context.Context, pageURL string, waits, failures *int) (delay time.Duration, progress string, m *manifest, err error) {
	resp, err := send(ctx, r.client, http.MethodGet, pageURL, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		_ = r.log.statusError(0, nil, err.Error(), nil)
		if permanent(err) {
			return 0, "", nil, fmt.Errorf("%w: %w", ErrExportFailed, err)
		}
		return r.failureDelay(nil, failures, err)
	}
	body, err := readBody(resp)
	if err != nil {
		_ = r.log.statusError(resp.StatusCode, nil, err.Error(), resp.Header)
		return r.failureDelay(nil, failures, err)
	}
	now := r.opts.Clock.Now()
	isOutcome, transientOutcome := outcomeTransience(body)
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		m, err := parseManifest(body, pageURL)
		if err != nil {
			return 0, "", nil, fmt.Errorf("%w: %w", ErrExportFailed, err)
		}
		return 0, "", m, nil
	case code == http.StatusAccepted:
		*failures = 0
		progress = strings.TrimSpace(resp.Header.Get("X-Progress"))
		if len(progress) > 100 {
			progress = progress[:100]
		}
		delay, ok := parseRetryAfter(resp.Header, now)
		if !ok {
			delay = backoff(pollBase, r.opts.MaxPollInterval, *waits)
		}
		*waits++
		delay = min(delay, r.opts.MaxPollInterval)
		if r.opts.PartialManifests && strings.Contains(string(body), `"output"`) {
			if m, err := parseManifest(body, pageURL); err == nil {
				return delay, progress, m, nil // EC-40: a partial manifest
			}
		}
		return delay, progress, nil, nil
	case code == http.StatusTooManyRequests:
		_ = r.log.statusError(code, bodyForLog(body), errorMessage(resp, body), resp.Header)
		delay, ok := parseRetryAfter(resp.Header, now) // EC-23: honoured whole, not a failure
		if !ok {
			delay = backoff(pollBase, r.opts.MaxPollInterval, *waits)
			*waits++
		}
		return delay, "the server asked us to slow down", nil, nil
	case (transientStatus(code) && !isOutcome) || transientOutcome:
		msg := errorMessage(resp, body)
		_ = r.log.statusError(code, bodyForLog(body), msg, resp.Header)
		return r.failureDelay(resp.Header, failures, fmt.Errorf("status %s: %s", redact.URL(pageURL), msg))
	}
	msg := errorMessage(resp, body)
	_ = r.log.statusError(resp.StatusCode, bodyForLog(body), msg, resp.Header)
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		// EC-43, ST-09: the job expired, was deleted, or the server restarted; polling cannot help.
		return 0, "", nil, fmt.Errorf("%w: the server no longer knows this export (%s answered %s); it has expired or was "+
			"cancelled, so start a new export: run again with --cancel to forget it, or use an empty folder", ErrExportFailed, redact.URL(pageURL), msg)
	}
	return 0, "", nil, fmt.Errorf("%w: unexpected status code from %s: %s", ErrExportFailed, redact.URL(pageURL), msg)
}

// failureDelay counts a transient failure and returns the wait before retrying, or the error
// once MaxAttempts tries have failed in a row (EC-21).
func (r *run) failureDelay(h http.Header, failures *int, cause error) (time.Duration, string, *manifest, error) {
	*failures++
	if *failures >= r.opts.MaxAttempts {
		return 0, "", nil, fmt.Errorf("%w: gave up after %d tries: %w", ErrExportFailed, *failures, cause)
	}
	delay := backoff(30*time.Second, 8*time.Minute, *failures-1)
	if ra, ok := parseRetryAfter(h, r.opts.Clock.Now()); ok {
		delay = min(ra, delay)
	}
	return delay, fmt.Sprintf("retrying after an error (%d of %d)", *failures, r.opts.MaxAttempts), nil, nil
}

// waitingText is the status shown while the server prepares the export.
func waitingText(serverText string, waited, next time.Duration) string {
	if serverText == "" {
		serverText = "waiting for the server"
	}
	return fmt.Sprintf("%s (%s so far, next check in %s)", serverText, progress.HumanDuration(waited), progress.HumanDuration(next))
}
