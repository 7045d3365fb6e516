package bulk

import (
	"strings"
	"testing"
)

// TestMF04aOutputTypeNamesAFileSafely checks that an output type, which becomes a local file
// name, is a plain FHIR resource type name: a type that would write outside DIR or into a
// sub-folder is refused with the manifest's URL in the error.
func TestMF04aOutputTypeNamesAFileSafely(t *testing.T) {
	cases := []struct {
		typ     string
		wantErr bool
	}{
		{typ: "Patient"},
		{typ: "MedicationRequest"},
		{typ: ""}, // organizeOutputBy: no type
		{typ: "../../etc/cron.d/x", wantErr: true},
		{typ: "error/OperationOutcome", wantErr: true},
		{typ: `..\Patient`, wantErr: true},
		{typ: ".hidden", wantErr: true},
		{typ: "Patient 2", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			body := `{"transactionTime":"2020-01-01T00:00:00Z","output":[{"type":"` + strings.ReplaceAll(tc.typ, `\`, `\\`) + `","url":"https://h/f1"}],"error":[]}`
			_, err := parseManifest([]byte(body), "https://h/status")
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "https://h/status") {
				t.Errorf("error %v does not name the manifest URL", err)
			}
		})
	}
}

// TestMF03RequiresAccessTokenAsBooleanOrString checks requiresAccessToken is read whether the
// server sends a JSON boolean or, as Oracle Health's documented manifests do, the string "true".
// A missing field means the token is sent; a value that is neither fails naming the manifest.
func TestMF03RequiresAccessTokenAsBooleanOrString(t *testing.T) {
	cases := []struct {
		value     string // JSON text of the field, "" to omit it
		wantToken bool
		wantErr   bool
	}{
		{value: "true", wantToken: true},
		{value: "false", wantToken: false},
		{value: `"true"`, wantToken: true},
		{value: `"false"`, wantToken: false},
		{value: `"FALSE"`, wantToken: false},
		{value: "", wantToken: true},
		{value: "null", wantToken: true},
		{value: `"sometimes"`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			field := ""
			if tc.value != "" {
				field = `"requiresAccessToken":` + tc.value + `,`
			}
			body := `{"transactionTime":"2022-05-10T03:17:51Z",` + field + `"output":[{"type":"Patient","url":"https://h/f1"}],"error":[]}`
			m, err := parseManifest([]byte(body), "https://h/status")
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "https://h/status") {
					t.Errorf("error %v does not name the manifest URL", err)
				}
				return
			}
			if m.needsToken() != tc.wantToken {
				t.Errorf("needsToken %v, want %v", m.needsToken(), tc.wantToken)
			}
		})
	}
}
