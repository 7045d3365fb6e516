// Package fhir is the HTTP client for FHIR servers: base URL handling, capability discovery,
// SMART Backend Services authorization, credential scoping, retries with backoff and
// Retry-After, and error messages that carry the server's OperationOutcome text.
package fhir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cumulus-etl/internal/redact"
)

// Client sends requests to one FHIR server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
	caps Capabilities
	auth authSetup
	log  *slog.Logger

	scoped    *authTransport // attaches credentials; Authorize gives it the token source
	tokenHTTP *http.Client   // sends token requests (no credentials of ours on them)
	tokenURL  string         // SMART only
	now       func() time.Time
}

// New connects (see Connect) and authorizes for reading opts.Resources (see Authorize), so bad
// credentials fail before any work starts. Errors wrap the sentinels of options.go.
func New(ctx context.Context, opts Options) (*Client, error) {
	c, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, opts.Resources); err != nil {
		return nil, err
	}
	return c, nil
}

// Connect validates the credentials and reads what the server says about itself, without
// authorizing yet: its CapabilityStatement (FHIR version, software name, resource types) and,
// for SMART, its smart-configuration (token endpoint, scopes_supported). Callers that choose
// what to read from the server's resource types call Authorize next.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if opts.CAFile == "" {
		opts.CAFile = opts.Auth.CAFile
	}
	base, err := parseBase(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	setup, err := loadAuth(opts.Auth)
	if err != nil {
		return nil, err
	}
	inner, err := baseTransport(opts)
	if err != nil {
		return nil, err
	}
	withRetries := func(next http.RoundTripper) http.RoundTripper {
		return &headerTransport{userAgent: "cumulus-etl/" + opts.Version, next: &retryTransport{
			next: next, policy: opts.Retry, now: opts.Now, sleep: opts.Sleep, rand: opts.Rand, log: opts.Logger,
		}}
	}
	newHTTPClient := func(rt http.RoundTripper) *http.Client {
		hc := &http.Client{Transport: rt, CheckRedirect: checkRedirect}
		if opts.HTTPClient != nil {
			hc.Timeout = opts.HTTPClient.Timeout
		}
		return hc
	}
	scoped := &authTransport{next: inner, origin: base, cred: staticCredential(setup.static), extra: http.Header{}}
	c := &Client{base: base, http: newHTTPClient(withRetries(scoped)), auth: setup, log: opts.Logger,
		scoped: scoped, tokenHTTP: newHTTPClient(withRetries(inner)), now: opts.Now}

	discoverCtx := ctx
	if setup.smart() {
		discoverCtx = NoCredentials(ctx) // no token yet; metadata and smart-configuration are public
	}
	if c.tokenURL, err = c.discover(discoverCtx, setup.smart()); err != nil {
		return nil, err
	}
	return c, nil
}

// rereadGuardedMetadata reads the CapabilityStatement again, now with a token, when it could not
// be read without one (some servers guard /metadata): the software name decides vendor quirks
// such as Epic-Client-ID. Failing again only costs those quirks, so it is logged, not returned.
func (c *Client) rereadGuardedMetadata(ctx context.Context) {
	if c.caps.FHIRVersion != "" {
		return
	}
	var cs capabilityStatement
	if err := getJSON(ctx, c, "metadata", &cs); err != nil {
		c.log.Warn("could not read the server's CapabilityStatement with a token either", "error", err)
		return
	}
	smart := c.caps.SMART
	cs.apply(&c.caps)
	c.caps.SMART = smart
}

// parseBase checks the FHIR base URL and gives it a trailing slash, so relative references
// resolve beneath it.
func parseBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no FHIR server URL given")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("FHIR server URL: %w", err)
	}
	if err := checkSecureURL("FHIR server URL", u); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// BaseURL returns a copy of the FHIR base URL, with a trailing slash.
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// Capabilities returns what discovery learnt about the server.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Do sends req, resolving a relative URL against the base URL and defaulting Accept to
// application/fhir+json. Credentials go only to the base URL's origin, and never when req's
// context is NoCredentials. Retryable failures are retried unless the context is NoRetry; a
// 401 is answered with one re-authorization and replay. A status of 400 or more comes back as
// an *HTTPError (the body is read and closed), except under NoRetry, where the caller runs its
// own loop and gets the response itself; a 3xx that was not followed (redirected POST or DELETE)
// comes back as a response. A 401 when no credentials were configured wraps
// ErrCredentialsMissing, also under NoRetry.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	r := req.WithContext(req.Context()) // shallow copy: the caller's request is left alone
	r.URL = c.base.ResolveReference(req.URL)
	if r.Header.Get("Accept") == "" {
		r.Header = req.Header.Clone()
		if r.Header == nil {
			r.Header = http.Header{}
		}
		r.Header.Set("Accept", "application/fhir+json")
	}
	resp, err := c.http.Do(r)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				ue.URL = redact.Of(u)
			}
		}
		return nil, err
	}
	noCredentials := resp.StatusCode == http.StatusUnauthorized && c.auth == (authSetup{})
	if resp.StatusCode < 400 || (!RetryAllowed(req.Context()) && !noCredentials) {
		return resp, nil
	}
	herr := newHTTPError(resp)
	if noCredentials {
		return nil, fmt.Errorf("%w: the server requires authentication; give --smart-client-id and --smart-key (or --basic-user/--basic-passwd, or --bearer-token): %w", ErrCredentialsMissing, herr)
	}
	return nil, herr
}
