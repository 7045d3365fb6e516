package fhir_test

import (
	"context"
	"fmt"
	"testing"

	"cumulus-etl/internal/fhir"
)

// TestUnfixableErrorsStopARun: credential and plain-http errors, however wrapped, are the ones
// no retry can fix; a server's answer, a time-out or an unreachable host are not.
func TestUnfixableErrorsStopARun(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("token: %w", fhir.ErrAuthFailed), true},
		{fmt.Errorf("key: %w", fmt.Errorf("read: %w", fhir.ErrCredentialFile)), true},
		{fhir.ErrCredentialsMissing, true},
		{fhir.ErrBasicCredentialsMissing, true},
		{fhir.ErrArgsConflict, true},
		{fhir.ErrInsecureURL, true},
		{fhir.ErrUnreachable, false},
		{&fhir.HTTPError{StatusCode: 503}, false},
		{context.DeadlineExceeded, false},
	}
	for _, tc := range cases {
		if got := fhir.Unfixable(tc.err); got != tc.want {
			t.Errorf("Unfixable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
