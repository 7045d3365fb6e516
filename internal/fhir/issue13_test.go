package fhir_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// referenceScopes is the scopes_supported of the SMART reference Bulk Data server for a server
// holding Patient and DocumentReference: the wildcards and one scope per type, in both syntaxes.
var referenceScopes = []string{"system/*.rs", "system/Patient.rs", "system/DocumentReference.rs",
	"system/*.read", "system/Patient.read", "system/DocumentReference.read"}

// TestIssue13Item3ScopesFollowWhatTheServerGrants: against a server that, like the reference
// server, refuses a scope for a type it lacks (here Binary, which DocumentReference used to
// bring along), the client asks only for scopes it can grant; a type without its own listed scope
// gets the listed wildcard.
func TestIssue13Item3ScopesFollowWhatTheServerGrants(t *testing.T) {
	for _, tc := range []struct {
		resources []string
		want      string
	}{
		{[]string{"Patient", "DocumentReference"}, "system/DocumentReference.read system/Patient.read"},
		{[]string{"Patient", "Observation"}, "system/*.read"},
	} {
		s := fhirtest.NewServer(t, fhirtest.WithResourceTypes("Patient", "DocumentReference", "Observation"),
			fhirtest.WithScopesSupported(referenceScopes...), fhirtest.WithStrictScopes())
		newClient(t, s, s.Options(tc.resources...))
		if got := s.Scopes(); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%v: scopes asked %q, want %q", tc.resources, got, tc.want)
		}
	}
}

// TestIssue13Item3InvalidScopeIsAskedOnceMoreInTheOtherSyntax (EC-34): a token endpoint that
// answers invalid_scope to .read scopes is asked once with .rs, which then serves every later
// token; one that refuses both fails with its own message.
func TestIssue13Item3InvalidScopeIsAskedOnceMoreInTheOtherSyntax(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithScopeSyntax("v2"))
	s.Handle("GET Patient/{id}", (&okRoute{}).handle)
	c := newClient(t, s, s.Options("Patient"))
	s.ExpireTokens()
	if _, err := get(context.Background(), c, "Patient/1"); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Scopes(), []string{"system/Patient.read", "system/Patient.rs", "system/Patient.rs"}; !slices.Equal(got, want) {
		t.Errorf("scopes asked %q, want %q", got, want)
	}

	strict := fhirtest.NewServer(t, fhirtest.WithResourceTypes("Patient"), fhirtest.WithStrictScopes())
	_, err := fhir.New(context.Background(), strict.Options("Condition"))
	if !errors.Is(err, fhir.ErrAuthFailed) || !strings.Contains(err.Error(), `Resources of type "Condition" do not exist`) || len(strict.Scopes()) != 2 {
		t.Errorf("err = %v after %d token requests, want ErrAuthFailed with the server's reason after 2", err, len(strict.Scopes()))
	}
}

// TestIssue13Item7ExpiredTokenOnARequestGetsOneFreshTokenAndOneRetry: a request answered 401
// "Token expired" (the reference server's request_expired_token) gets one new token and is sent
// once more; when the new token is refused too, the 401 comes back after that one retry.
func TestIssue13Item7ExpiredTokenOnARequestGetsOneFreshTokenAndOneRetry(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithRefusedTokens(1))
	s.Handle("GET Patient/{id}", (&okRoute{}).handle)
	c := newClient(t, s, s.Options("Patient"))
	if _, err := get(context.Background(), c, "Patient/1"); err != nil || s.TokenRequests() != 2 || s.Requests("Patient/1") != 2 {
		t.Errorf("err %v, %d tokens, %d requests; want success with 2 and 2", err, s.TokenRequests(), s.Requests("Patient/1"))
	}

	always := fhirtest.NewServer(t, fhirtest.WithRefusedTokens(-1))
	always.Handle("GET Patient/{id}", (&okRoute{}).handle)
	c = newClient(t, always, always.Options("Patient"))
	var herr *fhir.HTTPError
	if _, err := get(context.Background(), c, "Patient/1"); !errors.As(err, &herr) || herr.StatusCode != 401 || herr.Message != "Token expired" ||
		always.TokenRequests() != 2 || always.Requests("Patient/1") != 2 {
		t.Errorf("err %v, %d tokens, %d requests; want 401 Token expired after 2 and 2", err, always.TokenRequests(), always.Requests("Patient/1"))
	}
}
