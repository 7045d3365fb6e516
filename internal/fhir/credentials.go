package fhir

import "context"

type noCredentialsKey struct{}

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
