package fhir

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"cumulus-etl/internal/redact"
)

// The HTTP stack, outermost first (each layer is an http.RoundTripper):
//
//	headerTransport  User-Agent
//	retryTransport   backoff, Retry-After, transport errors (skipped under NoRetry)
//	authTransport    credential scoping by origin and NoCredentials; 401 → re-authorize once
//	base             net/http transport: TLS 1.2+, system roots + --ca-file
//
// Retries sit outside auth so every attempt asks the token cache for a current token, even
// after an hour-long Retry-After. The token request itself uses the same stack minus auth.

// baseTransport returns the innermost transport: the one of opts.HTTPClient when given (tests),
// else a clone of http.DefaultTransport (it honours HTTPS_PROXY) with TLS verification on,
// TLS 1.2 or later (GO-08), the system roots plus CAFile, and bounded connections per host,
// all of which are kept for reuse.
func baseTransport(opts Options) (http.RoundTripper, error) {
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		return opts.HTTPClient.Transport, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = opts.MaxConnsPerHost
	// Keep every connection the host may have: the default of 2 idle ones closed 3 of 5 after
	// each download, so an export of 170 files opened 30 connections (each a TLS handshake on a
	// real server) instead of 5.
	t.MaxIdleConnsPerHost = opts.MaxConnsPerHost
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pool, err := certPool(opts.CAFile)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig.RootCAs = pool
	}
	return t, nil
}

// certPool returns the system roots plus every certificate in the PEM file path.
func certPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --ca-file: %w", ErrCredentialFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%w: --ca-file %s holds no PEM certificate", ErrCredentialFile, path)
	}
	return pool, nil
}

// headerTransport sets the User-Agent on requests that do not carry one.
type headerTransport struct {
	next      http.RoundTripper
	userAgent string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") != "" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	return t.next.RoundTrip(r)
}

// checkRedirect follows at most 10 redirects, only for GET and HEAD (Go would turn a redirected
// POST or DELETE into a GET, GO-02: those come back to the caller as 3xx), and strips the
// Authorization header whenever the origin changes (GO-01, ST-13, EC-26). The auth layer adds
// credentials afresh for each hop only when the hop is on the FHIR origin.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
		return http.ErrUseLastResponse
	}
	if !sameOrigin(req.URL, via[len(via)-1].URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// sameOrigin compares scheme, host and port (default ports made explicit), case-insensitively.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// checkSecureURL refuses plain http except to this machine (loopback), so credentials and PHI
// never cross a network unencrypted.
func checkSecureURL(what string, u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%w: %s %q must use https", ErrInsecureURL, what, redact.Of(u))
	default:
		return fmt.Errorf("%s %q must be an http(s) URL", what, redact.Of(u))
	}
}

// rewind returns a copy of req with a fresh body for a replay, or an error when the body
// cannot be produced again.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("request body cannot be replayed")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("replaying request body: %w", err)
	}
	r.Body = body
	return r, nil
}

// replayable reports whether rewind can succeed.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// discard drains a little of a response body so the connection can be reused, then closes it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}
