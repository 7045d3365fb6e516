package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestTokenCache_SingleFlight_AU30: many concurrent callers with no cached token share one
// fetch. Run with -race.
func TestTokenCache_SingleFlight_AU30(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	cache := NewTokenCache(func(context.Context) (Token, error) {
		fetches.Add(1)
		<-release
		return Token{AccessToken: "t1", ExpiresIn: time.Hour}, nil
	}, nil)
	const callers = 64
	var wg sync.WaitGroup
	results := make(chan string, callers)
	started := make(chan struct{}, callers)
	for range callers {
		wg.Go(func() {
			started <- struct{}{}
			tok, err := cache.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			results <- tok
		})
	}
	for range callers {
		<-started
	}
	close(release)
	wg.Wait()
	close(results)
	for tok := range results {
		if tok != "t1" {
			t.Errorf("got token %q", tok)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestTokenCache_ProactiveRefresh_AU30: a token is replaced max(30 s, 10%) before it expires,
// and a short-lived one no later than half its life.
func TestTokenCache_ProactiveRefresh_AU30(t *testing.T) {
	tests := []struct {
		life, stillCached, refreshed time.Duration
	}{
		{300 * time.Second, 269 * time.Second, 270 * time.Second},
		{time.Hour, 54*time.Minute - time.Second, 54 * time.Minute},
		{20 * time.Second, 9 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.life.String(), func(t *testing.T) {
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			n := 0
			cache := NewTokenCache(func(context.Context) (Token, error) {
				n++
				return Token{AccessToken: strings.Repeat("x", n), ExpiresIn: tt.life}, nil
			}, clock.Now)
			ctx := context.Background()
			first, _ := cache.Token(ctx)
			clock.Add(tt.stillCached)
			if tok, _ := cache.Token(ctx); tok != first {
				t.Errorf("at %v: refreshed too early", tt.stillCached)
			}
			clock.Add(tt.refreshed - tt.stillCached)
			if tok, _ := cache.Token(ctx); tok == first {
				t.Errorf("at %v: not refreshed", tt.refreshed)
			}
		})
	}
}

// TestTokenCache_EarlyRefreshFailure_AU30: when the proactive refresh fails (Epic's flaky token
// endpoint), a token that has not yet expired is still handed out, and the next call tries to
// refresh again; once it has expired, or after a 401 invalidated it, the fetch error is returned.
func TestTokenCache_EarlyRefreshFailure_AU30(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	fail, fetches := false, 0
	cache := NewTokenCache(func(context.Context) (Token, error) {
		fetches++
		if fail {
			return Token{}, errors.New("flaky 400")
		}
		return Token{AccessToken: "t1", ExpiresIn: time.Hour}, nil
	}, clock.Now)
	ctx := context.Background()
	if _, err := cache.Token(ctx); err != nil {
		t.Fatal(err)
	}
	fail = true
	tests := []struct {
		name    string
		advance time.Duration
		want    string
		wantErr bool
	}{
		{"inside the refresh margin: old token", 55 * time.Minute, "t1", false},
		{"still inside: refresh tried again", time.Minute, "t1", false},
		{"expired: error", 4 * time.Minute, "", true},
	}
	for i, tt := range tests {
		clock.Add(tt.advance)
		tok, err := cache.Token(ctx)
		if tok != tt.want || (err != nil) != tt.wantErr || fetches != i+2 {
			t.Errorf("%s: got %q, %v after %d fetches", tt.name, tok, err, fetches)
		}
	}
	fail = false
	_, _ = cache.Token(ctx)
	clock.Add(55 * time.Minute)
	fail = true
	cache.Invalidate("t1")
	if tok, err := cache.Token(ctx); err == nil {
		t.Errorf("after a 401: got %q, want the fetch error", tok)
	}
}

// TestTokenCache_InvalidateOnlyStale_AU30: forgetting a token refused with 401 refetches once,
// even when many requests report the same stale token; a failed fetch is not cached.
func TestTokenCache_InvalidateOnlyStale_AU30(t *testing.T) {
	n := 0
	fail := false
	cache := NewTokenCache(func(context.Context) (Token, error) {
		if fail {
			return Token{}, errors.New("boom")
		}
		n++
		return Token{AccessToken: string(rune('a' + n)), ExpiresIn: time.Hour}, nil
	}, nil)
	ctx := context.Background()
	stale, _ := cache.Token(ctx)
	cache.Invalidate(stale)
	fresh, _ := cache.Token(ctx)
	cache.Invalidate(stale) // a late 401 for the old token must not discard the new one
	if again, _ := cache.Token(ctx); again != fresh || n != 2 {
		t.Errorf("fetches = %d, tokens %q %q %q", n, stale, fresh, again)
	}
	cache.Invalidate(fresh)
	fail = true
	if _, err := cache.Token(ctx); err == nil {
		t.Fatal("want the fetch error")
	}
	fail = false
	if _, err := cache.Token(ctx); err != nil {
		t.Fatalf("error was cached: %v", err)
	}
}

// TestTokenCache_WaiterHonoursContext: a caller whose context ends stops waiting for a fetch.
func TestTokenCache_WaiterHonoursContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	cache := NewTokenCache(func(context.Context) (Token, error) { <-block; return Token{}, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cache.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// TestParseTokenResponse_AU21_EC36: token_type compares case-insensitively; expires_in may be
// a number or a string, defaults to 300 s, and is capped at maxTokenLifetime.
func TestParseTokenResponse_AU21_EC36(t *testing.T) {
	tests := []struct {
		body    string
		want    time.Duration
		wantErr bool
	}{
		{`{"access_token":"a","token_type":"bearer","expires_in":3600}`, time.Hour, false},
		{`{"access_token":"a","token_type":"Bearer","expires_in":"3600"}`, time.Hour, false},
		{`{"access_token":"a","token_type":"BEARER"}`, DefaultTokenLifetime, false},
		{`{"access_token":"a","expires_in":"soon"}`, DefaultTokenLifetime, false},
		{`{"access_token":"a","expires_in":-1}`, DefaultTokenLifetime, false},
		{`{"access_token":"a","expires_in":"NaN"}`, DefaultTokenLifetime, false},
		// Huge lifetimes must not overflow time.Duration into a negative one (a token
		// refetched before every request); they are capped.
		{`{"access_token":"a","expires_in":31536000000}`, maxTokenLifetime, false},
		{`{"access_token":"a","expires_in":1e300}`, maxTokenLifetime, false},
		{`{"access_token":"a","expires_in":"Infinity"}`, maxTokenLifetime, false},
		{`{"access_token":"a","token_type":"mac"}`, 0, true},
		{`{"token_type":"bearer"}`, 0, true},
		{`<html>`, 0, true},
	}
	for _, tt := range tests {
		tok, err := parseTokenResponse([]byte(tt.body))
		if (err != nil) != tt.wantErr || tok.ExpiresIn != tt.want {
			t.Errorf("%s: got %v, %v", tt.body, tok.ExpiresIn, err)
		}
	}
}

// TestScopes_AU40_AU41: sorted, deduplicated system scopes; Binary joins DocumentReference;
// v2 uses .rs.
func TestScopes_AU40_AU41(t *testing.T) {
	got := Scopes([]string{"Patient", "DocumentReference", "Condition", "Patient"}, false)
	want := []string{"system/Binary.read", "system/Condition.read", "system/DocumentReference.read", "system/Patient.read"}
	if !slices.Equal(got, want) {
		t.Errorf("v1 = %v", got)
	}
	if got := Scopes([]string{"Patient"}, true); !slices.Equal(got, []string{"system/Patient.rs"}) {
		t.Errorf("v2 = %v", got)
	}
}

// TestUngrantedScopes_AU22: requested scopes the grant does not cover are reported, across v1
// and v2 syntax and wildcards (Oracle Health drops v1 scopes of v2-registered apps silently).
func TestUngrantedScopes_AU22(t *testing.T) {
	req := []string{"system/Patient.read", "system/Condition.read"}
	tests := []struct {
		name, granted string
		want          []string
	}{
		{"same scopes", "system/Condition.read system/Patient.read", nil},
		{"empty grant: server did not say", "", nil},
		{"wildcard v1", "system/*.read", nil},
		{"v2 equivalents", "system/Patient.rs system/Condition.cruds", nil},
		{"v1 star", "system/*.*", nil},
		{"v2 with query", "system/Patient.rs?category=x system/Condition.rs", nil},
		{"one type dropped", "system/Patient.read", []string{"system/Condition.read"}},
		{"search only is not read", "system/*.s", req},
		{"patient scopes do not count", "patient/*.read", req},
	}
	for _, tt := range tests {
		if got := UngrantedScopes(req, tt.granted); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := UngrantedScopes([]string{"system/*.$export"}, "system/Patient.read"); got != nil {
		t.Errorf("vendor scope judged: %q", got)
	}
}

// TestOAuthError_AU23: the server's description is reported, or the error_uri as Oracle Health
// sends it, or a short excerpt of a non-JSON body, with the assertion blanked out.
func TestOAuthError_AU23(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"error":"invalid_client","error_description":"Client authentication failed"}`, "[401] invalid_client: Client authentication failed"},
		{`{"error":"invalid_scope","error_uri":"https://errors.example/1"}`, `[401] invalid_scope: visit "https://errors.example/1" for more details`},
		{`bad request for ASSERTION`, "[401]: bad request for [client assertion]"},
	}
	for _, tt := range tests {
		if got := parseOAuthError(401, []byte(tt.body), "ASSERTION").Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestFetch_RetriesOnceAfterEarlierSuccess_AU23: an OAuth refusal is final on the first
// authorization, but once a token was granted in this run one retry with a new assertion
// follows (Epic's flaky bare 400s); each request carries the right form (AU-20).
func TestFetch_RetriesOnceAfterEarlierSuccess_AU23(t *testing.T) {
	var answers []int
	var forms []map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		forms = append(forms, r.PostForm)
		status := answers[0]
		answers = answers[1:]
		w.WriteHeader(status)
		if status == 200 {
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "expires_in": 300})
			return
		}
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
	}))
	defer srv.Close()
	key, _ := GenerateKey(AlgES384, "k", rand.Reader)
	cc := &ClientCredentials{HTTPClient: srv.Client(), TokenURL: srv.URL, ClientID: "c", Key: key, Scopes: []string{"system/A.read", "system/B.read"}}
	ctx := context.Background()

	answers = []int{400}
	if _, err := cc.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("first authorization: err = %v", err)
	}
	answers = []int{200, 400, 200}
	if _, err := cc.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Fetch(ctx); err != nil {
		t.Fatalf("re-authorization did not retry once: %v", err)
	}
	last := forms[len(forms)-1]
	if last["grant_type"][0] != "client_credentials" || last["scope"][0] != "system/A.read system/B.read" ||
		last["client_assertion_type"][0] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Errorf("form = %v", last)
	}
	if forms[len(forms)-1]["client_assertion"][0] == forms[len(forms)-2]["client_assertion"][0] {
		t.Error("the retry reused the assertion (jti)")
	}
}
