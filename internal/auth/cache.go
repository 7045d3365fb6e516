package auth

import (
	"context"
	"sync"
	"time"
)

// Token is an access token as the token endpoint granted it. AccessToken is a credential: never
// log it.
type Token struct {
	AccessToken string
	ExpiresIn   time.Duration // lifetime from the moment it was received
	Scope       string        // the granted scopes, which may differ from the requested ones
}

// refreshMargin is how long before expiry a token is replaced (AU-30): max(30 s, 10% of its
// life), but never more than half its life, so a short-lived token is still used at all.
func refreshMargin(life time.Duration) time.Duration {
	return min(max(30*time.Second, life/10), life/2)
}

// TokenCache hands out a cached access token, fetching a new one when none is cached, when the
// cached one is within its refresh margin of expiry, or after Invalidate. Concurrent callers
// share a single fetch (single flight); each waits only as long as its own context allows.
// A failed fetch is not cached: the next caller tries again. A failed early refresh still
// hands out the cached token until it actually expires (unless a 401 invalidated it), so a
// flaky token endpoint does not fail requests a valid token can make.
type TokenCache struct {
	fetch func(context.Context) (Token, error)
	now   func() time.Time

	mu        sync.Mutex
	current   Token
	refreshAt time.Time
	expiresAt time.Time
	inflight  *fetchCall
}

type fetchCall struct {
	done chan struct{}
	tok  Token
	err  error
}

// NewTokenCache returns a cache around fetch, using now as its clock (time.Now when nil).
func NewTokenCache(fetch func(context.Context) (Token, error), now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{fetch: fetch, now: now}
}

// Token returns a valid access token, fetching one first when needed.
func (c *TokenCache) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.current.AccessToken != "" && c.now().Before(c.refreshAt) {
		tok := c.current.AccessToken
		c.mu.Unlock()
		return tok, nil
	}
	call := c.inflight
	if call == nil {
		call = &fetchCall{done: make(chan struct{})}
		c.inflight = call
		// The fetch outlives a caller that gives up, so the others still get its result.
		go c.run(context.WithoutCancel(ctx), call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return c.unexpired(call.err)
		}
		return call.tok.AccessToken, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run performs one fetch and publishes its result to every waiter.
func (c *TokenCache) run(ctx context.Context, call *fetchCall) {
	call.tok, call.err = c.fetch(ctx)
	received := c.now()
	c.mu.Lock()
	c.inflight = nil
	if call.err == nil {
		c.current = call.tok
		c.refreshAt = received.Add(call.tok.ExpiresIn - refreshMargin(call.tok.ExpiresIn))
		c.expiresAt = received.Add(call.tok.ExpiresIn)
	}
	c.mu.Unlock()
	close(call.done)
}

// unexpired returns the cached token when it has not expired yet, else fetchErr.
func (c *TokenCache) unexpired(fetchErr error) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current.AccessToken != "" && c.now().Before(c.expiresAt) {
		return c.current.AccessToken, nil
	}
	return "", fetchErr
}

// Invalidate forgets the cached token if it is still stale, the token a server just refused
// with 401. Passing the refused token (rather than forgetting unconditionally) means many
// requests refused at once cause one refresh, not one each.
func (c *TokenCache) Invalidate(stale string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current.AccessToken == stale {
		c.current = Token{}
	}
}
