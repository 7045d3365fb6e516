package fhir

import (
	"context"
	"time"
)

type noCredentialsKey struct{}

type noRetryKey struct{}

type retryObserverKey struct{}

// NoCredentials returns a context that marks a request as going to a capability URL: the
// transport must not attach the Authorization header (or any other credential) to it, even when
// the URL is on the FHIR server's own origin (bulk manifests with requiresAccessToken: false).
func NoCredentials(ctx context.Context) context.Context {
	return context.WithValue(ctx, noCredentialsKey{}, true)
}

// CredentialsAllowed reports whether the request context permits sending credentials.
func CredentialsAllowed(ctx context.Context) bool {
	v, _ := ctx.Value(noCredentialsKey{}).(bool)
	return !v
}

// NoRetry returns a context that asks the client to send a request once and hand back whatever
// status it gets (still re-authorizing once on 401), for callers that run their own wait loop,
// such as bulk export status polling.
func NoRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// RetryAllowed reports whether the request context permits automatic retries.
func RetryAllowed(ctx context.Context) bool {
	v, _ := ctx.Value(noRetryKey{}).(bool)
	return !v
}

// WithRetryObserver returns a context whose requests call observe before each retry the client
// makes on its own: with the status that caused it (0 for a network error) and the wait before
// the next attempt (the server's Retry-After when it sent one). Callers that run many requests
// use it to slow down when a server throttles (429, 503).
func WithRetryObserver(ctx context.Context, observe func(status int, wait time.Duration)) context.Context {
	return context.WithValue(ctx, retryObserverKey{}, observe)
}

// retryObserver returns the function given to WithRetryObserver, or nil.
func retryObserver(ctx context.Context) func(int, time.Duration) {
	f, _ := ctx.Value(retryObserverKey{}).(func(int, time.Duration))
	return f
}
