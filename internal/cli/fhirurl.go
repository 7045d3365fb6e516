package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"cumulus-etl/internal/bulk"
)

// addFHIRURLFlag registers --fhir-url, which names the FHIR server of an export.
func addFHIRURLFlag(f *pflag.FlagSet, v *string) {
	f.StringVar(v, "fhir-url", "", "the FHIR server (base URL) the export came from: relative note and reference URLs resolve against it, "+
		"and only it gets the credentials; with a URL INPUT it must be a prefix of it")
}

// fhirBase returns the FHIR base URL for an export from rawURL (a kick-off URL): fhirURL when
// given, which must then be a prefix of rawURL on a path boundary (Cumulus ETL's rule, exit 22),
// else the base ParseExportURL finds in rawURL.
func fhirBase(rawURL, fhirURL string) (string, error) {
	if fhirURL == "" {
		base, _, err := bulk.ParseExportURL(rawURL)
		if err != nil {
			return "", &ExitError{Code: ExitArgsInvalid, Err: err}
		}
		return base, nil
	}
	prefix := strings.TrimSuffix(fhirURL, "/")
	rest, ok := strings.CutPrefix(rawURL, prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/") && !strings.HasPrefix(rest, "?")) {
		return "", exitf(ExitArgsConflict, "--fhir-url %s is not a prefix of %s; try dropping --fhir-url", fhirURL, rawURL)
	}
	return prefix + "/", nil
}
