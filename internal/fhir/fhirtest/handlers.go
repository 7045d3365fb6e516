package fhirtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// maxAssertionLifetime is the longest exp SMART allows ahead of now (AU-11).
const maxAssertionLifetime = 5 * time.Minute

// serve counts the request, answers it from the fault queue when one is pending, and otherwise
// routes it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == tokenPath {
		_ = r.ParseForm() // record what every token request sent, faults included
		s.mu.Lock()
		s.assertions = append(s.assertions, r.PostForm.Get("client_assertion"))
		s.scopes = append(s.scopes, r.PostForm.Get("scope"))
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.requests[r.URL.Path]++
	var fault http.HandlerFunc
	if q := s.faults[r.URL.Path]; len(q) > 0 {
		fault, s.faults[r.URL.Path] = q[0], q[1:]
	}
	s.mu.Unlock()
	if fault != nil {
		fault(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) recordWait(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.wellKnown {
		http.NotFound(w, r)
		return
	}
	endpoint := s.TokenURL
	if s.cfg.relToken {
		endpoint = "../auth/token"
	}
	doc := map[string]any{
		"token_endpoint":                                   endpoint,
		"grant_types_supported":                            []string{"client_credentials"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"capabilities":                                     s.cfg.capabilities,
	}
	if s.cfg.supported != nil {
		doc["scopes_supported"] = s.cfg.supported
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"resourceType": "CapabilityStatement",
		"fhirVersion":  "4.0.1",
		"software":     map[string]any{"name": s.cfg.softwareName, "version": "1.0", "releaseDate": "2024-01-01"},
		"publisher":    s.cfg.publisher,
		"instantiates": []string{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"},
		"rest": []any{map[string]any{
			"mode":      "server",
			"operation": []any{map[string]any{"name": "export"}},
			"resource":  s.capabilityResources(),
			"security": map[string]any{"extension": []any{map[string]any{
				"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
				"extension": []any{map[string]any{"url": "token", "valueUri": s.TokenURL}},
			}}},
		}},
	})
}

// token implements the SMART Backend Services token endpoint (AU-20, AU-21, AU-23).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		OAuthError(http.StatusBadRequest, "invalid_request", err.Error(), "")(w, r)
		return
	}
	assertion := r.PostForm.Get("client_assertion")
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		OAuthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials", "")(w, r)
		return
	case r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		OAuthError(http.StatusBadRequest, "invalid_request", "bad client_assertion_type", "")(w, r)
		return
	}
	if err := s.verifyAssertion(assertion); err != nil {
		OAuthError(http.StatusUnauthorized, "invalid_client", err.Error(), "")(w, r)
		return
	}
	if msg := s.refuseScope(r.PostForm.Get("scope")); msg != "" {
		OAuthError(http.StatusBadRequest, "invalid_scope", msg, "")(w, r)
		return
	}
	s.mu.Lock()
	s.tokenSerial++
	tok := fmt.Sprintf("fhirtest-token-%d", s.tokenSerial)
	s.tokens[tok] = true
	s.tokenCount++
	s.mu.Unlock()
	scope := r.PostForm.Get("scope")
	if s.cfg.grantedScope != nil {
		scope = *s.cfg.grantedScope
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": s.cfg.expiresIn, "scope": scope,
	})
}

// verifyAssertion checks the signature against the registered JWKS, the header (AU-10) and the
// claims (AU-11): iss = sub = client id, aud = token URL, exp within 5 minutes, jti unused.
func (s *Server) verifyAssertion(assertion string) error {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS384, jose.ES384})
	if err != nil {
		return fmt.Errorf("malformed assertion: %w", err)
	}
	h := tok.Headers[0]
	if h.ExtraHeaders["typ"] != "JWT" || h.KeyID == "" {
		return fmt.Errorf("header needs typ JWT and kid (typ %v, kid %q)", h.ExtraHeaders["typ"], h.KeyID)
	}
	keys := s.public.Key(h.KeyID)
	if len(keys) == 0 {
		return fmt.Errorf("unknown kid %q", h.KeyID)
	}
	var claims jwt.Claims
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	now := s.cfg.now()
	switch {
	case claims.Issuer != ClientID || claims.Subject != ClientID:
		return fmt.Errorf("iss %q / sub %q must both be the client id", claims.Issuer, claims.Subject)
	case len(claims.Audience) != 1 || claims.Audience[0] != s.TokenURL:
		return fmt.Errorf("aud %v must be %q", claims.Audience, s.TokenURL)
	case claims.Expiry == nil || !claims.Expiry.Time().After(now) || claims.Expiry.Time().After(now.Add(maxAssertionLifetime)):
		return fmt.Errorf("exp must lie within %v from now", maxAssertionLifetime)
	case claims.ID == "":
		return fmt.Errorf("jti missing")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jtis[claims.ID] {
		return fmt.Errorf("jti %q was already used", claims.ID)
	}
	s.jtis[claims.ID] = true
	return nil
}

// requireToken wraps a FHIR route so it answers 401 to requests without a current token.
func (s *Server) requireToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.requireAuth {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			s.mu.Lock()
			valid := ok && s.tokens[tok]
			expired := valid && s.refusedToken(tok)
			s.mu.Unlock()
			if !valid {
				Outcome(http.StatusUnauthorized, "login", "Unauthorized: no valid access token")(w, r)
				return
			}
			if expired {
				http.Error(w, "Token expired", http.StatusUnauthorized)
				return
			}
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// resources lists the CapabilityStatement's resources; Patient and Group offer $export.
func (s *Server) resources() []any {
	var out []any
	for _, t := range s.cfg.types {
		r := map[string]any{"type": t}
		if t == "Patient" || t == "Group" {
			r["operation"] = []any{map[string]any{"name": "export"}}
		}
		out = append(out, r)
	}
	return out
}

// refuseScope returns why the token endpoint refuses the requested scope, or "".
func (s *Server) refuseScope(scope string) string {
	for _, sc := range strings.Fields(scope) {
		rest, _ := strings.CutPrefix(sc, "system/")
		typ, perms, _ := strings.Cut(rest, ".")
		v2 := perms != "read" && perms != "write" && perms != "*"
		switch {
		case s.cfg.scopeSyntax == "v1" && v2, s.cfg.scopeSyntax == "v2" && !v2:
			return fmt.Sprintf("Invalid scope: %q", sc)
		case s.cfg.strictScopes && typ != "*" && !slices.Contains(s.cfg.types, typ):
			return fmt.Sprintf("Resources of type %q do not exist on this server (requested by scope %q)", typ, sc)
		}
	}
	return ""
}

// refusedToken reports whether tok is one of the tokens WithRefusedTokens refuses (s.mu held).
func (s *Server) refusedToken(tok string) bool {
	var n int
	if _, err := fmt.Sscanf(tok, "fhirtest-token-%d", &n); err != nil {
		return false
	}
	return s.cfg.refused < 0 || n <= s.cfg.refused
}
