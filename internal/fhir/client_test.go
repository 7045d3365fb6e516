package fhir_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// newClient starts a client against s, failing the test on error.
func newClient(t *testing.T, s *fhirtest.Server, opts fhir.Options) *fhir.Client {
	t.Helper()
	c, err := fhir.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get sends GET ref through c and returns the body, or the error.
func get(ctx context.Context, c *fhir.Client, ref string, header ...string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return "", err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// okRoute answers {"ok":true}; seen records the Authorization headers that reached it.
type okRoute struct {
	mu   sync.Mutex
	seen []string
}

func (o *okRoute) handle(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.seen = append(o.seen, r.Header.Get("Authorization"))
	o.mu.Unlock()
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// TestNew_DiscoversAndAuthorizes_AU01_AU20 covers discovery (AU-01, AU-02), the token request
// (AU-20, verified by the fake server's strict checks of AU-10/AU-11) and metadata (AU-06).
func TestNew_DiscoversAndAuthorizes_AU01_AU20(t *testing.T) {
	s := fhirtest.NewServer(t)
	c := newClient(t, s, s.Options("Patient", "DocumentReference"))
	if got := s.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1 (eager first token)", got)
	}
	// The server's CapabilityStatement lists no Binary, so no Binary scope joins DocumentReference.
	if got := s.Scopes(); !slices.Equal(got, []string{"system/DocumentReference.read system/Patient.read"}) {
		t.Errorf("scopes = %q", got)
	}
	caps := c.Capabilities()
	if caps.FHIRVersion != "4.0.1" || caps.SoftwareName != "fhirtest" || caps.SMART.TokenEndpoint != s.TokenURL ||
		!slices.Equal(caps.ResourceTypes, []string{"DocumentReference", "Group", "Patient"}) ||
		!slices.Contains(caps.Operations["Group"], "export") {
		t.Errorf("capabilities = %+v", caps)
	}
	if c.BaseURL().String() != s.BaseURL {
		t.Errorf("base = %s", c.BaseURL())
	}
}

// TestScopes_V2OnlyWithoutV1_AU42: .rs scopes only when the server lists permission-v2 and not
// permission-v1 (Cumulus ETL 9146b72, daa20ba).
func TestScopes_V2OnlyWithoutV1_AU42(t *testing.T) {
	tests := []struct {
		caps []string
		want string
	}{
		{[]string{"permission-v2"}, "system/Patient.rs"},
		{[]string{"permission-v1", "permission-v2"}, "system/Patient.read"},
		{nil, "system/Patient.read"},
	}
	for _, tt := range tests {
		s := fhirtest.NewServer(t, fhirtest.WithSMARTCapabilities(tt.caps...))
		newClient(t, s, s.Options("Patient"))
		if got := s.Scopes(); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("capabilities %v: scopes %q, want %q", tt.caps, got, tt.want)
		}
	}
}

// TestDiscovery_Fallbacks_AU04_AU05_EC37_EC38: without a well-known document the token URL comes
// from the CapabilityStatement's oauth-uris; a relative token_endpoint is resolved against the
// base and used as aud.
func TestDiscovery_Fallbacks_AU04_AU05_EC37_EC38(t *testing.T) {
	for name, opt := range map[string]fhirtest.Option{
		"oauth-uris":        fhirtest.WithoutWellKnown(),
		"relative endpoint": fhirtest.WithRelativeTokenEndpoint(),
	} {
		t.Run(name, func(t *testing.T) {
			s := fhirtest.NewServer(t, opt)
			c := newClient(t, s, s.Options("Patient"))
			if c.Capabilities().SMART.TokenEndpoint != s.TokenURL || s.TokenRequests() != 1 {
				t.Errorf("token endpoint %q, %d tokens", c.Capabilities().SMART.TokenEndpoint, s.TokenRequests())
			}
		})
	}
}

// TestGrantedScopeWarning_AU22: a token that does not cover a requested type (Oracle Health
// drops v1 scopes of v2-registered apps silently) is reported as a warning naming the scopes.
func TestGrantedScopeWarning_AU22(t *testing.T) {
	tests := []struct {
		granted  string
		wantWarn bool
	}{
		{"system/Patient.read", true},
		{"system/*.rs", false},
		{"", false},
	}
	for _, tt := range tests {
		s := fhirtest.NewServer(t, fhirtest.WithGrantedScope(tt.granted))
		var logs strings.Builder
		opts := s.Options("Patient", "Condition")
		opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		newClient(t, s, opts)
		if got := strings.Contains(logs.String(), "system/Condition.read"); got != tt.wantWarn {
			t.Errorf("granted %q: warned = %v, want %v; log:\n%s", tt.granted, got, tt.wantWarn, logs.String())
		}
	}
}

// TestExpiresInString_EC36: a string expires_in (BCDA) is accepted.
func TestExpiresInString_EC36(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithExpiresIn("3600"))
	newClient(t, s, s.Options("Patient"))
}

// TestOAuthErrors_AU23_EC35: the token endpoint's refusal is reported with its description (or
// Oracle Health's error_uri), wraps ErrAuthFailed, and never shows the assertion.
func TestOAuthErrors_AU23_EC35(t *testing.T) {
	tests := []struct {
		faults []http.HandlerFunc
		want   string
	}{
		{[]http.HandlerFunc{fhirtest.OAuthError(400, "invalid_client", "Client authentication failed", "")}, "invalid_client: Client authentication failed"},
		// invalid_scope is asked once more in the other scope syntax (EC-34) before failing.
		{[]http.HandlerFunc{fhirtest.OAuthError(400, "invalid_scope", "", "https://errors.example/oauth"),
			fhirtest.OAuthError(400, "invalid_scope", "", "https://errors.example/oauth")}, `visit "https://errors.example/oauth" for more details`},
	}
	for _, tt := range tests {
		s := fhirtest.NewServer(t)
		s.Fail("/auth/token", tt.faults...)
		_, err := fhir.New(context.Background(), s.Options("Patient"))
		if !errors.Is(err, fhir.ErrAuthFailed) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want ErrAuthFailed with %q", err, tt.want)
		}
		for _, a := range s.Assertions() {
			if strings.Contains(err.Error(), a) {
				t.Error("the error shows the client assertion")
			}
		}
	}
}

// TestTokenRetry_NewAssertionEachAttempt_AU11: a token request retried after a 503 carries a new
// assertion (new jti), which the server accepts.
func TestTokenRetry_NewAssertionEachAttempt_AU11(t *testing.T) {
	s := fhirtest.NewServer(t)
	s.Fail("/auth/token", fhirtest.Status(503))
	newClient(t, s, s.Options("Patient"))
	a := s.Assertions()
	if len(a) != 2 || a[0] == a[1] || s.TokenRequests() != 1 {
		t.Errorf("%d assertions, %d tokens", len(a), s.TokenRequests())
	}
}

// TestProactiveRefresh_AU30_EC08: once the clock passes the refresh margin the next request
// gets a new token before it is sent, so the server never has to answer 401.
func TestProactiveRefresh_AU30_EC08(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := fhirtest.NewServer(t, fhirtest.WithClock(clock))
	route := &okRoute{}
	s.Handle("GET Patient/{id}", route.handle)
	c := newClient(t, s, s.Options("Patient"))
	ctx := context.Background()
	if _, err := get(ctx, c, "Patient/1"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(271 * time.Second) // past 300 s - 30 s
	mu.Unlock()
	if _, err := get(ctx, c, "Patient/1"); err != nil {
		t.Fatal(err)
	}
	if s.TokenRequests() != 2 || route.seen[0] == route.seen[1] {
		t.Errorf("tokens = %d, headers differ: %v", s.TokenRequests(), route.seen[0] != route.seen[1])
	}
}

// TestUnauthorizedReauthorizes_KO35_EC09: a 401 mid-run (token expired early) triggers one new
// token and one replay, of a POST body too; a second 401 is returned as an error.
func TestUnauthorizedReauthorizes_KO35_EC09(t *testing.T) {
	s := fhirtest.NewServer(t)
	var bodies []string
	s.Handle("POST Group/{id}/$export", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.WriteHeader(http.StatusAccepted)
	})
	c := newClient(t, s, s.Options("Patient"))
	s.ExpireTokens()
	req, _ := http.NewRequest(http.MethodPost, "Group/g/$export", strings.NewReader(`{"resourceType":"Parameters"}`))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.TokenRequests() != 2 || !slices.Equal(bodies, []string{`{"resourceType":"Parameters"}`}) {
		t.Errorf("tokens = %d, bodies = %q", s.TokenRequests(), bodies)
	}

	s.Fail("Group/g/$export", fhirtest.Outcome(401, "login", "nope"), fhirtest.Outcome(401, "login", "still no"))
	req, _ = http.NewRequest(http.MethodPost, "Group/g/$export", strings.NewReader(`{}`))
	var herr *fhir.HTTPError
	if _, err := c.Do(req); !errors.As(err, &herr) || herr.StatusCode != 401 || herr.Message != "still no" {
		t.Errorf("second 401: err = %v", err)
	}
	if s.TokenRequests() != 3 {
		t.Errorf("tokens = %d, want exactly one more", s.TokenRequests())
	}
}

// TestConcurrentRefresh_AU30: many goroutines meeting an expired token cause one token request
// between them. Run with -race.
func TestConcurrentRefresh_AU30(t *testing.T) {
	s := fhirtest.NewServer(t)
	route := &okRoute{}
	s.Handle("GET Patient/{id}", route.handle)
	c := newClient(t, s, s.Options("Patient"))
	if _, err := get(context.Background(), c, "Patient/warm"); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if _, err := get(context.Background(), c, "Patient/1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := s.TokenRequests(); got != 2 {
		t.Errorf("token requests = %d, want 2 (initial + one shared refresh)", got)
	}
}

// BenchmarkDo measures one authorized GET through every layer against the in-process server.
func BenchmarkDo(b *testing.B) {
	s := fhirtest.NewServer(b)
	s.Handle("GET Patient/{id}", (&okRoute{}).handle)
	c, err := fhir.New(context.Background(), s.Options("Patient"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := get(context.Background(), c, "Patient/1"); err != nil {
			b.Fatal(err)
		}
	}
}
