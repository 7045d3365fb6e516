// Package fhirtest runs an in-process fake FHIR server with a SMART Backend Services
// authorization server, for tests of the FHIR client and of everything built on it (bulk
// export, note downloads). It verifies every client assertion the way a strict EHR would and
// can inject the faults real EHRs produce: early token expiry, 401s, redirects to another
// origin, Retry-After dates, OAuth errors, 5xx bursts and connection resets.
package fhirtest

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"cumulus-etl/internal/auth"
	"cumulus-etl/internal/fhir"
)

const tokenPath = "/auth/token"

// ClientID is the client id registered with every fake server.
const ClientID = "fhirtest-client"

// Server is a fake FHIR server (base path /fhir/) with its token endpoint (/auth/token), both
// over TLS on one origin. Other is a second origin that records what reaches it.
type Server struct {
	*httptest.Server
	Other *OtherOrigin

	BaseURL  string // ends with a slash
	TokenURL string
	KeyPath  string // the registered client's private JWKS (absent when WithPublicJWKS was used)

	cfg    config
	public jose.JSONWebKeySet
	mux    *http.ServeMux

	mu          sync.Mutex
	faults      map[string][]http.HandlerFunc
	tokens      map[string]bool // issued and not revoked
	jtis        map[string]bool
	assertions  []string
	scopes      []string
	tokenCount  int
	requests    map[string]int
	waits       []time.Duration
	tokenSerial int
	binaries    map[string]binary
	data        searchData
}

type config struct {
	softwareName string
	capabilities []string
	wellKnown    bool
	relToken     bool
	expiresIn    any
	publicJWKS   []byte
	now          func() time.Time
	requireAuth  bool
	grantedScope *string
	types        []string // CapabilityStatement resource types
	supported    []string // scopes_supported; nil: not advertised
	strictScopes bool     // refuse scopes for types not in types, as the SMART reference server does
	scopeSyntax  string   // "v1" or "v2": refuse scopes of the other syntax with invalid_scope
	refused      int      // the first refused tokens get 401 "Token expired" on use; <0: all of them
	publisher    string
	search       searchConfig
}

// Option changes how a Server behaves.
type Option func(*config)

// WithSoftwareName sets CapabilityStatement.software.name ("Epic" triggers Epic-Client-ID).
func WithSoftwareName(name string) Option { return func(c *config) { c.softwareName = name } }

// WithSMARTCapabilities sets the smart-configuration capabilities list (default: permission-v1
// and permission-v2).
func WithSMARTCapabilities(caps ...string) Option { return func(c *config) { c.capabilities = caps } }

// WithoutWellKnown makes .well-known/smart-configuration answer 404, so the token endpoint must
// come from the CapabilityStatement's oauth-uris extension.
func WithoutWellKnown() Option { return func(c *config) { c.wellKnown = false } }

// WithRelativeTokenEndpoint advertises token_endpoint as a path relative to the base URL.
func WithRelativeTokenEndpoint() Option { return func(c *config) { c.relToken = true } }

// WithExpiresIn sets the expires_in value of token responses, as a number or a string.
func WithExpiresIn(v any) Option { return func(c *config) { c.expiresIn = v } }

// WithPublicJWKS registers the given public JWKS instead of generating a client key.
func WithPublicJWKS(jwks []byte) Option { return func(c *config) { c.publicJWKS = jwks } }

// WithClock sets the server's clock for assertion exp checks (use the client's fake clock).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithGrantedScope makes the token endpoint grant scope instead of the requested scopes.
func WithGrantedScope(scope string) Option { return func(c *config) { c.grantedScope = &scope } }

// WithResourceTypes sets the resource types the CapabilityStatement lists (default: Patient,
// Group and DocumentReference).
func WithResourceTypes(types ...string) Option { return func(c *config) { c.types = types } }

// WithScopesSupported makes the smart-configuration list scopes_supported.
func WithScopesSupported(scopes ...string) Option { return func(c *config) { c.supported = scopes } }

// WithStrictScopes makes the token endpoint refuse, with invalid_scope, a scope for a resource
// type the CapabilityStatement does not list, as the SMART reference server does
// ('Resources of type "Binary" do not exist on this server').
func WithStrictScopes() Option { return func(c *config) { c.strictScopes = true } }

// WithScopeSyntax makes the token endpoint refuse scopes of the other syntax ("v1" accepts only
// .read-style scopes, "v2" only .rs-style ones) with invalid_scope.
func WithScopeSyntax(syntax string) Option { return func(c *config) { c.scopeSyntax = syntax } }

// WithRefusedTokens makes FHIR routes answer 401 "Token expired" to requests carrying one of the
// first n tokens issued (all of them when n < 0), as the SMART reference server's
// request_expired_token simulation does.
func WithRefusedTokens(n int) Option { return func(c *config) { c.refused = n } }

// WithoutAuth lets FHIR routes answer requests that carry no token.
func WithoutAuth() Option { return func(c *config) { c.requireAuth = false } }

// NewServer starts a fake server that shuts down when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		cfg: config{softwareName: "fhirtest", capabilities: []string{"permission-v1", "permission-v2"},
			wellKnown: true, expiresIn: 300, now: time.Now, requireAuth: true, types: []string{"Patient", "Group", "DocumentReference"}},
		faults: map[string][]http.HandlerFunc{}, tokens: map[string]bool{}, jtis: map[string]bool{},
		requests: map[string]int{}, mux: http.NewServeMux(),
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.registerKey(t)
	s.Server = startTLS(t, http.HandlerFunc(s.serve))
	s.Other = newOtherOrigin(t)
	s.BaseURL = s.URL + "/fhir/"
	s.TokenURL = s.URL + tokenPath
	s.mux.HandleFunc("GET /fhir/.well-known/smart-configuration", s.smartConfiguration)
	s.mux.HandleFunc("GET /fhir/metadata", s.metadata)
	s.mux.HandleFunc("POST "+tokenPath, s.token)
	return s
}

// registerKey generates the client key pair, or registers the public JWKS given as an option.
func (s *Server) registerKey(t testing.TB) {
	t.Helper()
	if s.cfg.publicJWKS != nil {
		if err := json.Unmarshal(s.cfg.publicJWKS, &s.public); err != nil {
			t.Fatalf("fhirtest: public JWKS: %v", err)
		}
		return
	}
	key, err := auth.GenerateKey(auth.AlgES384, "fhirtest-key", rand.Reader)
	if err != nil {
		t.Fatalf("fhirtest: %v", err)
	}
	priv, err := key.PrivateJWKS()
	if err != nil {
		t.Fatalf("fhirtest: %v", err)
	}
	s.KeyPath = filepath.Join(t.TempDir(), "private.jwks")
	if err := os.WriteFile(s.KeyPath, priv, 0o600); err != nil {
		t.Fatalf("fhirtest: %v", err)
	}
	s.public.Keys = []jose.JSONWebKey{key.PublicKey()}
}

// Options returns client options for this server: its base URL, the registered SMART client,
// an HTTP client that trusts the test certificate, the server's clock, and a Sleep that
// returns at once and records each wait (see Waits).
func (s *Server) Options(resources ...string) fhir.Options {
	return fhir.Options{
		BaseURL:    s.BaseURL,
		Auth:       fhir.AuthConfig{ClientID: ClientID, KeyPath: s.KeyPath},
		Resources:  resources,
		HTTPClient: s.Client(),
		Version:    "test",
		Now:        s.cfg.now,
		Sleep:      s.recordWait,
	}
}

// Handle adds a FHIR route; pattern is a net/http pattern whose path is relative to the base,
// e.g. "GET Patient/{id}". Routes require a valid access token unless WithoutAuth was given.
func (s *Server) Handle(pattern string, h http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	full := strings.TrimSpace(method + " /fhir/" + strings.TrimPrefix(path, "/"))
	s.mux.HandleFunc(full, s.requireToken(h))
}

// Fail queues one-shot answers for a path: each request to it is answered by the next queued
// handler until the queue is empty. path is relative to the base ("Patient/1"), or absolute
// when it starts with a slash ("/auth/token").
func (s *Server) Fail(path string, faults ...http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.absPath(path)
	s.faults[p] = append(s.faults[p], faults...)
}

// ExpireTokens revokes every token issued so far, as a server does when tokens expire early:
// the next request with one of them gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// TokenRequests counts the token requests that got a token.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCount
}

// Requests counts requests to a path (relative to the base, or absolute with a leading slash).
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[s.absPath(path)]
}

// Scopes returns the scope parameter of every token request, in order.
func (s *Server) Scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.scopes...)
}

// Assertions returns every client assertion received, in order (valid or not).
func (s *Server) Assertions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.assertions...)
}

// Waits returns the waits the client asked for through Options().Sleep.
func (s *Server) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// startTLS starts a TLS test server that stops when the test ends and keeps quiet about the
// handshakes and resets tests provoke.
func startTLS(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func (s *Server) absPath(path string) string {
	if strings.HasPrefix(path, "/") {
		return path
	}
	return "/fhir/" + path
}
