package fhir

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// Sentinel errors the CLI maps to Cumulus ETL's exit codes. They are always wrapped with a
// message that says what went wrong and what to do.
var (
	// ErrCredentialsMissing: a SMART client id without a key or the reverse, or a server that
	// answered 401 to a client given no credentials at all (exit 15).
	ErrCredentialsMissing = errors.New("SMART credentials missing")
	// ErrBasicCredentialsMissing: --basic-user without --basic-passwd or the reverse (exit 25).
	ErrBasicCredentialsMissing = errors.New("basic credentials missing")
	// ErrArgsConflict: more than one authentication method given (exit 22).
	ErrArgsConflict = errors.New("conflicting authentication options")
	// ErrCredentialFile: a credential, key or CA file cannot be read or holds nothing usable (exit 23).
	ErrCredentialFile = errors.New("unusable credential file")
	// ErrAuthFailed: discovery found no token endpoint, or the token endpoint refused us (exit 32).
	ErrAuthFailed = errors.New("authorization with the FHIR server failed")
	// ErrInsecureURL: a plain-http URL for a server that is not on this machine.
	ErrInsecureURL = errors.New("refusing a plain-http URL")
	// ErrUnreachable: the server gave no HTTP answer at all (connection refused, unknown host,
	// time-out), after the retries (exit 1).
	ErrUnreachable = errors.New("cannot reach the FHIR server")
)

// Unfixable reports whether a request failed for a reason no retry and no other request to the
// same server can fix: missing, conflicting, unusable or refused credentials, or a plain-http
// URL. Exports, crawls and note downloads stop at once on these instead of backing off.
func Unfixable(err error) bool {
	for _, e := range []error{ErrCredentialsMissing, ErrBasicCredentialsMissing, ErrArgsConflict, ErrCredentialFile,
		ErrAuthFailed, ErrInsecureURL} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// AuthConfig is how the user authenticates, copied from the command-line flags. At most one
// method may be given: SMART (ClientID + KeyPath), basic (BasicUser + BasicPasswordFile) or a
// bearer token (BearerTokenFile). None at all is allowed for open servers.
type AuthConfig struct {
	ClientID          string // the value, or the path of a file whose trimmed content is the id (a path that does not exist is taken literally)
	KeyPath           string // --smart-key / --smart-jwks: a JWKS file or a PEM private key
	KID               string // --smart-kid: which key of the JWKS to use, or the kid for a PEM key
	BasicUser         string
	BasicPasswordFile string
	BearerTokenFile   string
	CAFile            string // --ca-file: a PEM file of extra certificate authorities (see Options.CAFile)
}

// Options configures New. The zero value of every field but BaseURL is usable.
type Options struct {
	BaseURL   string     // FHIR base URL; a trailing slash is added when missing
	Auth      AuthConfig // credentials
	Resources []string   // resource types the token must allow reading (Binary is added with DocumentReference)
	CAFile    string     // a PEM file of extra certificate authorities to trust besides the system ones; empty: Auth.CAFile
	Version   string     // program version for the User-Agent "cumulus-etl/<version>"

	// HTTPClient, when set, supplies the base transport (tests pass an httptest server's client).
	// Its CheckRedirect is replaced and its Timeout kept.
	HTTPClient *http.Client
	// MaxConnsPerHost bounds parallel connections to one host (default 5; EHRs are busy).
	MaxConnsPerHost int

	Retry RetryPolicy

	Logger *slog.Logger                                     // retries and warnings; nil discards. Never receives credentials.
	Now    func() time.Time                                 // clock for token expiry, assertions and HTTP-dates; nil: time.Now
	Sleep  func(ctx context.Context, d time.Duration) error // wait between retries; nil: a timer that honours ctx
	Rand   func() float64                                   // jitter source in [0,1); nil: math/rand/v2
}

// RetryPolicy says how requests are retried after 408, 429, 500, 502, 503, 504 and transport
// errors. Zero fields take the defaults shown.
type RetryPolicy struct {
	MaxAttempts   int           // total tries including the first (default 6)
	BaseDelay     time.Duration // first backoff (default 2 s), doubled each retry, ±20% jitter
	MaxDelay      time.Duration // backoff ceiling (default 2 min)
	MaxRetryAfter time.Duration // cap on a server's Retry-After (default 5 min)
}

// withDefaults fills zero fields.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 2 * time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 2 * time.Minute
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 5 * time.Minute
	}
	return p
}

// withDefaults fills the injectable dependencies.
func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = 5
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	o.Retry = o.Retry.withDefaults()
	return o
}
