package input

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadOutcomes(t *testing.T) {
	const oo1 = `{"resourceType":"OperationOutcome","issue":[` +
		`{"severity":"error","code":"processing","diagnostics":"diag text","details":{"text":"details text"}},` +
		`{"severity":"warning","code":"informational","details":{"text":"details text"}},` +
		`{"severity":"fatal","code":"exception"},` +
		`{"severity":"information","code":"informational","diagnostics":"","details":{"text":""}}]}`
	const oo2 = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"too-costly","diagnostics":"second file"}]}`
	tests := []struct {
		name    string
		files   []string // relative paths, in the order passed
		content map[string]string
		want    []Outcome // File relative to root
		wantErr string
	}{
		{
			name:    "one Outcome per issue, text falls back from diagnostics to details.text to code",
			files:   []string{"error/OperationOutcome.000.ndjson", "error/OperationOutcome.001.ndjson"},
			content: map[string]string{"error/OperationOutcome.000.ndjson": lines(oo1), "error/OperationOutcome.001.ndjson": "\n" + lines(oo2)},
			want: []Outcome{
				{File: "error/OperationOutcome.000.ndjson", Line: 1, Severity: "error", Code: "processing", Text: "diag text"},
				{File: "error/OperationOutcome.000.ndjson", Line: 1, Severity: "warning", Code: "informational", Text: "details text"},
				{File: "error/OperationOutcome.000.ndjson", Line: 1, Severity: "fatal", Code: "exception", Text: "exception"},
				{File: "error/OperationOutcome.000.ndjson", Line: 1, Severity: "information", Code: "informational", Text: "informational"},
				{File: "error/OperationOutcome.001.ndjson", Line: 2, Severity: "error", Code: "too-costly", Text: "second file"},
			},
		},
		{
			name:    "non-OperationOutcome line",
			files:   []string{"error/x.ndjson"},
			content: map[string]string{"error/x.ndjson": lines(oo2, patient)},
			wantErr: `x.ndjson:2: expected an OperationOutcome, found resourceType "Patient"`,
		},
		{
			name:    "OperationOutcome without issues",
			files:   []string{"error/x.ndjson"},
			content: map[string]string{"error/x.ndjson": lines(`{"resourceType":"OperationOutcome","issue":[]}`)},
			wantErr: "x.ndjson:1: OperationOutcome has no issue",
		},
		{
			name:    "wrongly typed field",
			files:   []string{"error/x.ndjson"},
			content: map[string]string{"error/x.ndjson": lines(`{"resourceType":"OperationOutcome","issue":{"severity":"error"}}`)},
			wantErr: "x.ndjson:1: json: cannot unmarshal object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.content)
			var files []File
			for _, rel := range tt.files {
				files = append(files, File{Path: filepath.Join(root, rel)})
			}
			got, err := ReadOutcomes(files)
			if checkErr(t, err, tt.wantErr) {
				return
			}
			for i := range tt.want {
				tt.want[i].File = filepath.Join(root, tt.want[i].File)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadOutcomes =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestOutcomeFatal(t *testing.T) {
	for sev, want := range map[string]bool{"fatal": true, "error": true, "warning": false, "information": false, "": false} {
		if got := (Outcome{Severity: sev}).Fatal(); got != want {
			t.Errorf("Outcome{Severity: %q}.Fatal() = %v, want %v", sev, got, want)
		}
	}
}
