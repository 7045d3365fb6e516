package fhir

import (
	"context"
	"net/http"
	"net/url"
)

// credential produces the Authorization header value for requests to the FHIR origin.
type credential interface {
	// authorization returns the header value ("" for none), fetching a token when needed.
	authorization(ctx context.Context) (string, error)
	// refresh forgets the value a server just refused with 401 and reports whether a new one
	// can be had (false for static credentials).
	refresh(stale string) bool
}

// authTransport attaches credentials only to requests on the FHIR server's own origin (scheme,
// host and port) whose context allows them (KO-09, DL-03, DL-04, MF-21, EC-11, EC-12). Every
// other request leaves without an Authorization header, even one the caller set. On a 401 from
// the FHIR origin it gets a new token and replays the request once (KO-35, AU-30, EC-09); a
// second 401 is returned. extra headers (Epic-Client-ID) travel under the same scoping.
type authTransport struct {
	next   http.RoundTripper
	origin *url.URL
	cred   credential
	extra  http.Header
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !CredentialsAllowed(ctx) || !sameOrigin(req.URL, t.origin) {
		if req.Header.Get("Authorization") == "" {
			return t.next.RoundTrip(req)
		}
		r := req.Clone(ctx)
		r.Header.Del("Authorization")
		return t.next.RoundTrip(r)
	}
	value, err := t.cred.authorization(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, value)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || value == "" ||
		!replayable(req) || !t.cred.refresh(value) {
		return resp, err
	}
	discard(resp)
	r, err := rewind(req)
	if err != nil {
		return nil, err
	}
	if value, err = t.cred.authorization(ctx); err != nil {
		return nil, err
	}
	return t.send(r, value)
}

// send forwards a copy of req carrying the credential and the extra headers.
func (t *authTransport) send(req *http.Request, value string) (*http.Response, error) {
	r := req.Clone(req.Context())
	if value != "" {
		r.Header.Set("Authorization", value)
	}
	for k, vs := range t.extra {
		r.Header[k] = vs
	}
	return t.next.RoundTrip(r)
}
