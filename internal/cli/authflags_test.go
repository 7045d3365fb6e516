package cli

import (
	"fmt"
	"testing"

	"github.com/spf13/pflag"

	"cumulus-etl/internal/fhir"
)

// TestAddAuthFlags_FillConfig: the Cumulus ETL flag names land in AuthConfig; --smart-jwks is
// an alias of --smart-key.
func TestAddAuthFlags_FillConfig(t *testing.T) {
	var c fhir.AuthConfig
	f := pflag.NewFlagSet("t", pflag.ContinueOnError)
	addAuthFlags(f, &c)
	err := f.Parse([]string{"--smart-client-id", "id", "--smart-jwks", "k.jwks", "--smart-kid", "kid",
		"--basic-user", "u", "--basic-passwd", "pw", "--bearer-token", "tok", "--ca-file", "ca.pem"})
	if err != nil {
		t.Fatal(err)
	}
	want := fhir.AuthConfig{ClientID: "id", KeyPath: "k.jwks", KID: "kid", BasicUser: "u",
		BasicPasswordFile: "pw", BearerTokenFile: "tok", CAFile: "ca.pem"}
	if c != want {
		t.Errorf("config = %+v", c)
	}
}

// TestAuthExitCode: each sentinel maps to Cumulus ETL's exit code, through wrapping.
func TestAuthExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{fhir.ErrCredentialsMissing, 15},
		{fhir.ErrArgsConflict, 22},
		{fhir.ErrCredentialFile, 23},
		{fhir.ErrBasicCredentialsMissing, 25},
		{fhir.ErrAuthFailed, 32},
		{fmt.Errorf("x"), ExitGeneric},
	}
	for _, tt := range tests {
		if got := authExitCode(fmt.Errorf("wrapped: %w", tt.err)); tt.err != nil && got != tt.want {
			t.Errorf("%v → %d, want %d", tt.err, got, tt.want)
		}
	}
	if authExitCode(nil) != ExitOK {
		t.Error("nil is not ExitOK")
	}
}
