package input

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"cumulus-etl/internal/outcome"
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
		want    []outcome.Group // fatal ones first; File relative to root
		wantErr string
	}{
		{
			name:    "issues tallied by severity, code and file, without their text",
			files:   []string{"error/OperationOutcome.000.ndjson", "error/OperationOutcome.001.ndjson"},
			content: map[string]string{"error/OperationOutcome.000.ndjson": lines(oo1), "error/OperationOutcome.001.ndjson": "\n" + lines(oo2)},
			want: []outcome.Group{
				{Severity: "fatal", Code: "exception", File: "error/OperationOutcome.000.ndjson", Line: 1, Count: 1},
				{Severity: "error", Code: "processing", File: "error/OperationOutcome.000.ndjson", Line: 1, Count: 1},
				{Severity: "error", Code: "too-costly", File: "error/OperationOutcome.001.ndjson", Line: 2, Count: 1},
				{Severity: "warning", Code: "informational", File: "error/OperationOutcome.000.ndjson", Line: 1, Count: 1},
				{Severity: "information", Code: "informational", File: "error/OperationOutcome.000.ndjson", Line: 1, Count: 1},
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
				files = append(files, localFile(root, rel))
			}
			got, err := ReadOutcomes(context.Background(), files)
			if checkErr(t, err, tt.wantErr) {
				return
			}
			for i := range tt.want {
				tt.want[i].File = filepath.Join(root, tt.want[i].File)
			}
			fatal, other := got.Groups()
			if all := append(fatal, other...); !reflect.DeepEqual(all, tt.want) {
				t.Errorf("ReadOutcomes =\n%+v\nwant\n%+v", all, tt.want)
			}
		})
	}
}
