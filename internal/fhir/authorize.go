package fhir

import (
	"context"
	"errors"
	"sync"

	"github.com/google/uuid"

	"cumulus-etl/internal/auth"
)

// Authorize gets ready to read resources from the server. For SMART it chooses the scopes from
// what the server says it can grant (auth.ChooseScopes: the resource types of its
// CapabilityStatement and its scopes_supported) and fetches the first access token right away;
// a token endpoint that answers invalid_scope is asked once more with the other scope syntax
// (.read and .rs; EC-34), which then serves every later token. Later tokens are fetched as the
// cached one nears expiry. For other methods it does nothing. Call it once.
func (c *Client) Authorize(ctx context.Context, resources []string) error {
	if !c.auth.smart() {
		return nil
	}
	first, other := auth.ChooseScopes(resources, auth.ScopeHints{V2Only: c.caps.SMART.V2ScopesOnly(),
		Supported: c.caps.SMART.Scopes, Types: c.caps.ResourceTypes})
	cc := &auth.ClientCredentials{
		HTTPClient: c.tokenHTTP,
		TokenURL:   c.tokenURL,
		ClientID:   c.auth.clientID,
		Key:        c.auth.key,
		Scopes:     first,
		Now:        c.now,
		NewJTI:     uuid.NewString,
	}
	s := &scopeSwitch{cc: cc, other: other, log: c.log}
	c.scoped.cred = tokenCredential{cache: auth.NewTokenCache(s.fetch, c.now)}
	if _, err := c.scoped.cred.authorization(ctx); err != nil {
		return err
	}
	c.rereadGuardedMetadata(ctx)
	if c.caps.IsEpic() {
		c.scoped.extra.Set("Epic-Client-ID", c.auth.clientID)
	}
	return nil
}

// scopeSwitch fetches tokens, switching once to the other scope syntax after invalid_scope.
type scopeSwitch struct {
	cc    *auth.ClientCredentials
	other []string
	log   interface{ Warn(string, ...any) }

	mu       sync.Mutex
	switched bool
}

func (s *scopeSwitch) fetch(ctx context.Context) (auth.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.cc.Fetch(ctx)
	var oe *auth.OAuthError
	if err != nil && !s.switched && errors.As(err, &oe) && oe.Code == "invalid_scope" {
		s.switched = true
		s.log.Warn("the token endpoint refused our scopes; asking once more in the other scope syntax",
			"refused", s.cc.Scopes, "error", oe.Error(), "asking", s.other)
		s.cc.Scopes = s.other
		tok, err = s.cc.Fetch(ctx)
	}
	if missing := auth.UngrantedScopes(s.cc.Scopes, tok.Scope); err == nil && len(missing) > 0 {
		s.log.Warn("the access token does not cover every requested scope; the server may refuse or silently skip these resource types (AU-22)",
			"missing", missing, "granted", tok.Scope)
	}
	return tok, err
}
