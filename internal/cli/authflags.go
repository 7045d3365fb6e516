package cli

import (
	"errors"

	"github.com/spf13/pflag"

	"cumulus-etl/internal/fhir"
)

// addAuthFlags registers the FHIR server authentication flags of Cumulus ETL on f, writing
// their values into c.
func addAuthFlags(f *pflag.FlagSet, c *fhir.AuthConfig) {
	f.StringVar(&c.ClientID, "smart-client-id", "", "client ID for a SMART Backend Services server (the ID itself, or a file holding it)")
	f.StringVar(&c.KeyPath, "smart-key", "", "private key for SMART: a JWKS file (e.g. from cumulus-etl keygen) or a PEM private key; RS384 or ES384")
	f.StringVar(&c.KeyPath, "smart-jwks", "", "same as --smart-key")
	f.StringVar(&c.KID, "smart-kid", "", "which key of the --smart-key JWKS to use (default: the first private RS384/ES384 signing key); for a PEM key, the kid registered with the EHR")
	f.StringVar(&c.BasicUser, "basic-user", "", "user name for a FHIR server that uses Basic authentication")
	f.StringVar(&c.BasicPasswordFile, "basic-passwd", "", "file holding the Basic authentication password")
	f.StringVar(&c.BearerTokenFile, "bearer-token", "", "file holding a bearer token for the FHIR server")
	f.StringVar(&c.CAFile, "ca-file", "", "PEM file of extra certificate authorities to trust (e.g. your hospital's own CA); TLS is always verified")
}

// authExitCode returns the Cumulus ETL exit code for an error from fhir.New or Client.Do:
// ExitOK for nil, ExitGeneric when no credential rule applies.
func authExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, fhir.ErrArgsConflict):
		return ExitArgsConflict
	case errors.Is(err, fhir.ErrBasicCredentialsMissing):
		return ExitBasicCredentialsMissing
	case errors.Is(err, fhir.ErrCredentialsMissing):
		return ExitSMARTCredentialsMissing
	case errors.Is(err, fhir.ErrCredentialFile), errors.Is(err, fhir.ErrInsecureURL):
		return ExitArgsInvalid
	case errors.Is(err, fhir.ErrAuthFailed):
		return ExitFHIRAuthFailed
	case errors.Is(err, fhir.ErrUnreachable):
		return ExitGeneric // as the README says for a server that cannot be reached at all
	}
	return ExitGeneric
}
