package outcome

import (
	"reflect"
	"strings"
	"testing"
)

// TestSummary_Item12_TalliesWithoutFreeText: issue 10 item 12. Issues are grouped by severity,
// code and file with their count and first place; a severity or code outside FHIR's value sets
// (a server can put any text there) is never repeated, and diagnostics and details never are.
func TestSummary_Item12_TalliesWithoutFreeText(t *testing.T) {
	const phi = "John Q Smith 1970-01-01"
	var s Summary
	s.Add("error/b.ndjson", 7, Issue{Severity: "warning", Code: "informational", Diagnostics: phi})
	s.Add("error/a.ndjson", 3, Issue{Severity: "error", Code: "processing", Diagnostics: phi})
	s.Add("error/a.ndjson", 9, Issue{Severity: "error", Code: "processing"})
	s.Add("error/a.ndjson", 1, Issue{Severity: "fatal", Code: phi})
	s.Add("error/a.ndjson", 2, Issue{Severity: phi, Code: "exception"})
	fatal, other := s.Groups()
	wantFatal := []Group{
		{Severity: "fatal", Code: "non-standard", File: "error/a.ndjson", Line: 1, Count: 1},
		{Severity: "error", Code: "processing", File: "error/a.ndjson", Line: 3, Count: 2},
	}
	wantOther := []Group{
		{Severity: "unknown", Code: "exception", File: "error/a.ndjson", Line: 2, Count: 1},
		{Severity: "warning", Code: "informational", File: "error/b.ndjson", Line: 7, Count: 1},
	}
	if !reflect.DeepEqual(fatal, wantFatal) || !reflect.DeepEqual(other, wantOther) {
		t.Errorf("Groups() =\n%+v\n%+v\nwant\n%+v\n%+v", fatal, other, wantFatal, wantOther)
	}
	if got, want := fatal[1].String(), `2 error "processing" issues (first at error/a.ndjson:3)`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, g := range append(fatal, other...) {
		if strings.Contains(g.String(), "John") {
			t.Errorf("%q repeats free text", g)
		}
	}
	if f, o := (*Summary)(nil).Groups(); f != nil || o != nil {
		t.Error("a nil Summary has groups")
	}
}
