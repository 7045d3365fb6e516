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
