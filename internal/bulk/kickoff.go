package bulk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/redact"
)

// capabilities is the part of the CapabilityStatement the kick-off log records.
type capabilities struct {
	FHIRVersion any `json:"fhirVersion"`
	Software    struct {
		Name        any `json:"name"`
		Version     any `json:"version"`
		ReleaseDate any `json:"releaseDate"`
	} `json:"software"`
}

// fetchCapabilities reads [base]/metadata once for the log; failures are ignored.
func (r *run) fetchCapabilities(ctx context.Context) capabilities {
	var caps capabilities
	base, _, err := ParseExportURL(r.opts.URL)
	if err != nil {
		return caps
	}
	resp, err := send(ctx, r.client, http.MethodGet, base+"/metadata", http.Header{"Accept": {"application/fhir+json"}}, nil)
	if err != nil {
		return caps
	}
	body, err := readBody(resp)
	if err == nil && resp.StatusCode == http.StatusOK {
		_ = json.Unmarshal(body, &caps)
	}
	return caps
}

// kickoff starts the export and returns the absolute status URL. A 429 means another export is
// still running: it waits and tries again (KO-34, EC-24), without counting it as a failure. Error
// answers follow the same rule as status checks (errorIsTransient): transient ones are retried
// MaxAttempts times, fatal ones fail at once. A GET answered 405 is retried as a POST (VD-04:
// STU4 servers accept POST only).
func (r *run) kickoff(ctx context.Context, k kickoff) (string, error) {
	caps := r.fetchCapabilities(ctx)
	failures, throttles := 0, 0
	for {
		hdr := http.Header{"Accept": {"application/fhir+json"}, "Prefer": {"respond-async"}}
		method, target, body := http.MethodGet, k.url, []byte(nil)
		if k.post {
			method, body = http.MethodPost, k.params.parametersBody()
			target = strings.SplitN(k.url, "?", 2)[0]
			hdr.Set("Content-Type", "application/fhir+json")
		}
		resp, err := send(ctx, r.client, method, target, hdr, body)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if failures++; failures >= r.opts.MaxAttempts || fhir.Unfixable(err) {
				r.logFailedKickoff(k, caps, nil, err.Error(), nil)
				return "", fmt.Errorf("%w: kick-off: %w", ErrExportFailed, err)
			}
			if err := r.wait.sleep(ctx, backoff(time.Second, time.Minute, failures-1), time.Minute, "kick-off"); err != nil {
				return "", err
			}
			continue
		}
		respBody, _ := readBody(resp)
		loc := resp.Header.Values("Content-Location")
		switch {
		case (resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK) && len(loc) == 1:
			status, err := r.resolveStatusURL(target, loc[0])
			if err != nil {
				return "", err
			}
			if resp.StatusCode == http.StatusOK {
				r.progress.Warn("the server answered the kick-off with 200 instead of 202 (EC-05)")
			}
			r.log.setExportID(status)
			_ = r.log.kickoff(target, caps, k.params, nil, nil, resp.Header)
			return status, nil
		case resp.StatusCode == http.StatusAccepted && len(loc) == 0 && resp.Header.Get("Location") != "":
			r.progress.Warn("the kick-off response has no Content-Location; using its Location header (EC-07)")
			resp.Header.Set("Content-Location", resp.Header.Get("Location"))
			status, err := r.resolveStatusURL(target, resp.Header.Get("Location"))
			if err != nil {
				return "", err
			}
			r.log.setExportID(status)
			_ = r.log.kickoff(target, caps, k.params, nil, nil, resp.Header)
			return status, nil
		case resp.StatusCode == http.StatusMethodNotAllowed && !k.post:
			r.progress.Warn("the server refused a GET kick-off (405); retrying with POST")
			k.post = true
			continue
		case resp.StatusCode == http.StatusTooManyRequests:
			delay, ok := r.wait.retryAfter(resp.Header)
			if !ok {
				delay = backoff(time.Minute, MaxThrottleWait, throttles)
			}
			throttles++
			r.progress.Info(fmt.Sprintf("The server is busy (%s); trying the kick-off again in %s",
				errorMessage(resp, respBody), progress.HumanDuration(min(delay, MaxThrottleWait))))
			if err := r.wait.sleep(ctx, delay, MaxThrottleWait, "kick-off"); err != nil {
				return "", err
			}
			continue
		case errorIsTransient(resp.StatusCode, respBody) && failures+1 < r.opts.MaxAttempts:
			failures++
			delay := failureDelay(resp.Header, failures, r.wait)
			r.progress.Info(fmt.Sprintf("The kick-off failed (%s); trying again in %s (%d of %d)",
				errorMessage(resp, respBody), progress.HumanDuration(delay), failures, r.opts.MaxAttempts))
			if err := r.wait.sleep(ctx, delay, failureCap, "kick-off"); err != nil {
				return "", err
			}
			continue
		}
		msg := errorMessage(resp, respBody)
		if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
			msg = fmt.Sprintf("[%d] the response has %d Content-Location headers; need exactly one", resp.StatusCode, len(loc))
		}
		r.logFailedKickoff(k, caps, resp.StatusCode, bodyForLog(respBody), resp.Header)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return "", fmt.Errorf("%w: %w: the server refused the kick-off with these credentials %s", ErrExportFailed, fhir.ErrAuthFailed, msg)
		}
		return "", fmt.Errorf("%w: kick-off %s %s: unexpected status code %s", ErrExportFailed, method, redact.URL(target), msg)
	}
}

func (r *run) logFailedKickoff(k kickoff, caps capabilities, code any, body any, h http.Header) {
	r.log.setExportID(uuid.NewString())
	_ = r.log.kickoff(k.url, caps, k.params, code, body, h)
}

// resolveStatusURL makes a relative Content-Location absolute against the kick-off URL (EC-06).
func (r *run) resolveStatusURL(kickoffURL, loc string) (string, error) {
	base, err := url.Parse(kickoffURL)
	if err != nil {
		return "", fmt.Errorf("kick-off URL %q: %w", redact.URL(kickoffURL), err)
	}
	ref, err := url.Parse(strings.TrimSpace(loc))
	if err != nil || loc == "" {
		return "", fmt.Errorf("%w: kick-off returned a bad Content-Location %q", ErrExportFailed, redact.URL(loc))
	}
	if !ref.IsAbs() {
		r.progress.Warn(fmt.Sprintf("the server sent a relative Content-Location %q; resolving it against %s", redact.URL(loc), redact.URL(kickoffURL)))
	}
	return base.ResolveReference(ref).String(), nil
}
