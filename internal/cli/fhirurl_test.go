package cli

import "testing"

// TestFHIRBase_PrefixRule (issue 9 item 1; Cumulus ETL's test_fhir_url): --fhir-url must be a
// prefix of a URL INPUT on a path boundary (exit 22 otherwise); without it the base comes from
// the URL.
func TestFHIRBase_PrefixRule(t *testing.T) {
	tests := []struct {
		input, fhirURL, want string
		code                 int
	}{
		{"https://example.com/hello1/Group/1234", "", "https://example.com/hello1", ExitOK},
		{"https://example.com/hello3/Group/1234", "https://example.com/hello3", "https://example.com/hello3/", ExitOK},
		{"https://example.com/hello3/Group/1234", "https://example.com/hello3/", "https://example.com/hello3/", ExitOK},
		{"https://example.com/fhir?_type=Patient", "https://example.com/fhir", "https://example.com/fhir/", ExitOK},
		{"https://example.com/hello1/Group/1234", "https://example.com/hello2", "", ExitArgsConflict},
		{"https://example.com/fhirX/Group/1", "https://example.com/fhir", "", ExitArgsConflict},
		{"https://example.com/fhir/Group/1", "https://other.example/fhir", "", ExitArgsConflict},
	}
	for _, tt := range tests {
		got, err := fhirBase(tt.input, tt.fhirURL)
		if code := exitCodeOf(err); code != tt.code || got != tt.want {
			t.Errorf("fhirBase(%q, %q) = %q (exit %d), want %q (exit %d)", tt.input, tt.fhirURL, got, code, tt.want, tt.code)
		}
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	if e, ok := err.(*ExitError); ok {
		return e.Code
	}
	return ExitGeneric
}
