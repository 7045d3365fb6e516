package fhirtest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Outcome answers status with an OperationOutcome whose first issue has the given code and text.
func Outcome(status int, code, text string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(status)
		writeOutcome(w, code, text)
	}
}

func writeOutcome(w http.ResponseWriter, code, text string) {
	_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"` + code +
		`","details":{"text":"` + text + `"}}]}`))
}

// RetryAfter answers status (429, 503, ...) with a Retry-After header of value, in seconds or
// as an HTTP-date.
func RetryAfter(status int, value string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", value)
		w.WriteHeader(status)
		writeOutcome(w, "throttled", "Try again later")
	}
}

// Status answers a bare status with an empty body.
func Status(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }
}

// Reset closes the connection without answering, as a flaky load balancer does.
func Reset() http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
}

// RedirectTo answers with a redirect (302, 307, ...) to url.
func RedirectTo(url string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, url, status) }
}

// OAuthError answers like a token endpoint that refuses (RFC 6749 §5.2): error, plus
// error_description and error_uri when not empty (Oracle Health sends only error_uri).
func OAuthError(status int, code, description, uri string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		body := map[string]any{"error": code}
		if description != "" {
			body["error_description"] = description
		}
		if uri != "" {
			body["error_uri"] = uri
		}
		writeJSON(w, status, body)
	}
}

// OtherOrigin is a second TLS server, on another port and so another origin, that answers every
// request with 200 "{}" and records the Authorization header each request carried.
type OtherOrigin struct {
	*httptest.Server

	mu    sync.Mutex
	auths []string
}

func newOtherOrigin(t testing.TB) *OtherOrigin {
	o := &OtherOrigin{}
	o.Server = startTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.auths = append(o.auths, r.Header.Get("Authorization"))
		o.mu.Unlock()
		_, _ = w.Write([]byte("{}"))
	}))
	return o
}

// Authorizations returns the Authorization header of every request received ("" when absent).
func (o *OtherOrigin) Authorizations() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.auths...)
}
