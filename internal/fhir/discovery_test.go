package fhir_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestDiscovery_UnreachableServerIsNotAnAuthFailure: when neither discovery document can be
// fetched at all (connection refused), the error says the server cannot be reached rather than
// blaming its OAuth setup (exit 32).
func TestDiscovery_UnreachableServerIsNotAnAuthFailure(t *testing.T) {
	s := fhirtest.NewServer(t)
	opts := s.Options("Patient")
	s.Close()
	_, err := fhir.New(context.Background(), opts)
	if !errors.Is(err, fhir.ErrUnreachable) || errors.Is(err, fhir.ErrAuthFailed) || !strings.Contains(err.Error(), "cannot reach the FHIR server") {
		t.Errorf("err = %v", err)
	}
}
