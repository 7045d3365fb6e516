package fhir

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"cumulus-etl/internal/outcome"
	"cumulus-etl/internal/redact"
)

// maxErrorBody bounds how much of an error answer is read and kept.
const maxErrorBody = 64 << 10

// HTTPError is an answer with status 400 or more. Its message is the server's own explanation:
// the first OperationOutcome issue's details.text or diagnostics, an OAuth error_description or
// error_uri, or the body text.
type HTTPError struct {
	URL        string // with signature and token query values redacted
	StatusCode int
	Message    string
	Header     http.Header // e.g. Retry-After, for callers that run their own wait loop
	Body       []byte      // the first 64 KiB of the body, e.g. to read OperationOutcome issue codes
}

// Error formats the failure like Cumulus ETL: An error occurred when connecting to "<url>": [<status>] <message>.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("An error occurred when connecting to %q: [%d] %s", e.URL, e.StatusCode, e.Message)
}

// newHTTPError reads (a bounded part of) the body, closes it, and builds the error.
func newHTTPError(resp *http.Response) *HTTPError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	return &HTTPError{
		URL:        redact.Of(resp.Request.URL),
		StatusCode: resp.StatusCode,
		Message:    errorMessage(resp.StatusCode, body),
		Header:     resp.Header,
		Body:       body,
	}
}

// errorMessage picks the most useful explanation from an error body, as cfs http.py does.
func errorMessage(status int, body []byte) string {
	var oauth struct {
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	msg := ""
	if oo, ok := outcome.Parse(body); ok && len(oo.Issue) > 0 {
		msg = oo.Issue[0].Details.Text
		if msg == "" {
			msg = oo.Issue[0].Diagnostics
		}
	} else if err := json.Unmarshal(body, &oauth); err == nil {
		switch {
		case oauth.Description != "":
			msg = oauth.Description
		case oauth.URI != "":
			msg = fmt.Sprintf("visit %q for more details", oauth.URI)
		}
	} else {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// RedactURL returns u as text with any password and credential-like query values (signatures,
// tokens, keys) replaced, for URLs that appear in messages and logs. It is redact.Of.
func RedactURL(u *url.URL) string { return redact.Of(u) }
