package bulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/outcome"
	"cumulus-etl/internal/redact"
)

// maxSmallBody caps bodies read into memory (errors, manifests pages, OperationOutcomes).
const maxSmallBody = 64 << 20

// send issues one request with automatic retries disabled (this package runs its own loops).
func send(ctx context.Context, c Doer, method, target string, hdr http.Header, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(fhir.NoRetry(ctx), method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redact.URL(target), redactErr(err))
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redact.URL(target), redactErr(err))
	}
	return resp, nil
}

// redactErr replaces the URL inside a *url.Error (what net/http returns) with its redacted form.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redact.URL(ue.URL)
	}
	return err
}

// readBody reads and closes a (small) response body.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody+1))
	if err != nil {
		return b, fmt.Errorf("reading response from %s: %w", redact.Of(resp.Request.URL), err)
	}
	if len(b) > maxSmallBody {
		return nil, fmt.Errorf("response from %s is larger than %d bytes", redact.Of(resp.Request.URL), maxSmallBody)
	}
	return b, nil
}

// transientStatus reports whether a status is worth retrying (ST-09, DL-06).
func transientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transientIssueCodes are the R4 IssueType "transient" family (ST-08).
var transientIssueCodes = map[string]bool{
	"transient": true, "lock-error": true, "no-store": true, "exception": true,
	"timeout": true, "incomplete": true, "throttled": true,
}

// errorMessage summarises an error response body: the OperationOutcome's first issue text, else
// the body text (trimmed), else the status line; secrets of the request's URL that the body
// echoes are redacted.
func errorMessage(resp *http.Response, body []byte) string {
	msg := rawErrorMessage(resp, body)
	if resp.Request != nil {
		msg = redact.Secrets(msg, resp.Request.URL.String())
	}
	return msg
}

func rawErrorMessage(resp *http.Response, body []byte) string {
	if oo, ok := outcome.Parse(body); ok {
		fatal, other := oo.Texts()
		if all := append(fatal, other...); len(all) > 0 {
			return fmt.Sprintf("[%d] %s", resp.StatusCode, strings.Join(all, "; "))
		}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	if text == "" {
		text = resp.Status
	}
	return fmt.Sprintf("[%d] %s", resp.StatusCode, text)
}

// errorIsTransient is the one rule for error answers to the kick-off and to status checks
// (issue 13 item 4; ST-08, ST-09, KO-33). An OperationOutcome decides when the body is one: the
// error is transient only when every issue of severity error or fatal (every issue, if none has
// those) has a code of the R4 IssueType transient family; so a 500 with code "processing" is fatal
// at once. Without an OperationOutcome, 408, 500, 502, 503 and 504 are transient (retried a few
// times with backoff) and any other status is fatal. 429 is throttling, handled apart.
func errorIsTransient(code int, body []byte) bool {
	oo, ok := outcome.Parse(body)
	if !ok || len(oo.Issue) == 0 {
		switch code {
		case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var serious []string
	for _, is := range oo.Issue {
		if is.Fatal() {
			serious = append(serious, is.Code)
		}
	}
	if len(serious) == 0 {
		for _, is := range oo.Issue {
			serious = append(serious, is.Code)
		}
	}
	for _, c := range serious {
		if !transientIssueCodes[c] {
			return false
		}
	}
	return true
}
