package fhir

import "context"

type noCredentialsKey struct{}

type noRetryKey struct{}

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
