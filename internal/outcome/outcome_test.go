package outcome

import "testing"

func TestIssueText_FallsBackFromDiagnosticsToDetailsToCode(t *testing.T) {
	cases := []struct {
		name  string
		issue Issue
		want  string
	}{
		{"diagnostics first", Issue{Code: "c", Diagnostics: "d", Details: struct {
			Text string `json:"text"`
		}{"t"}}, "d"},
		{"then details.text", Issue{Code: "c", Details: struct {
			Text string `json:"text"`
		}{"t"}}, "t"},
		{"then code", Issue{Code: "c"}, "c"},
	}
	for _, tc := range cases {
		if got := tc.issue.Text(); got != tc.want {
			t.Errorf("%s: Text() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParse_SplitsFatalFromOtherIssues(t *testing.T) {
	oo, ok := Parse([]byte(`{"resourceType":"OperationOutcome","issue":[
		{"severity":"fatal","code":"a"},{"severity":"error","code":"b"},{"severity":"warning","code":"c"},{"severity":"information","code":"d"}]}`))
	if !ok {
		t.Fatal("not parsed")
	}
	fatal, other := oo.Texts()
	if len(fatal) != 2 || fatal[1] != "b" || len(other) != 2 || other[0] != "c" {
		t.Errorf("fatal %v, other %v", fatal, other)
	}
	if _, ok := Parse([]byte(`{"resourceType":"Patient"}`)); ok {
		t.Error("a Patient parsed as an OperationOutcome")
	}
	if _, ok := Parse([]byte(`not json`)); ok {
		t.Error("garbage parsed as an OperationOutcome")
	}
}
