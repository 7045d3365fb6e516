package etl

import (
	"errors"
	"strings"
	"testing"

	"cumulus-etl/internal/deid"
)

func newTestScrubber(t *testing.T) *deid.Scrubber {
	t.Helper()
	cb, err := deid.ParseCodebook([]byte(`{"version":1,"id_salt":"1234","codebook_id":"test"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := deid.NewScrubber(cb)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScrubLineKeepsNumbersExact(t *testing.T) {
	line := `{"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.50},"component":[{"valueInteger":12345678901234567890}],"x":2.0e3}`
	row, id, outcome, err := scrubLine(newTestScrubber(t), []byte(line), "Observation")
	if err != nil || outcome != deid.Kept || id == "" {
		t.Fatalf("scrubLine = %q, %v, %v", id, outcome, err)
	}
	for _, want := range []string{`"valueQuantity":{"value":1.50}`, `"component":[{"valueInteger":12345678901234567890}]`, `"id":"` + id + `"`} {
		if !strings.Contains(string(row), want) {
			t.Errorf("row %s lacks %s", row, want)
		}
	}
}

func TestScrubLineRejectsBadRows(t *testing.T) {
	cases := []struct{ name, line string }{
		{"truncated", `{"resourceType":"Observation","id":"o1"`},
		{"two objects", `{"resourceType":"Observation","id":"o1"}{"a":1}`},
		{"array", `[{"resourceType":"Observation","id":"o1"}]`},
		{"string", `"Observation"`},
		{"id not a string", `{"resourceType":"Observation","id":5}`},
		{"empty id", `{"resourceType":"Observation","id":""}`},
		{"no resourceType", `{"id":"o1"}`},
		{"other resourceType", `{"resourceType":"Patient","id":"o1"}`},
		{"invalid UTF-8", "{\"resourceType\":\"Observation\",\"id\":\"o\xff\"}"},
		{"a repeated key (issue 11, item 4)", `{"resourceType":"Observation","id":"o1","code":{"text":"a","text":"b"}}`},
	}
	s := newTestScrubber(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if row, _, _, err := scrubLine(s, []byte(tc.line), "Observation"); !errors.Is(err, deid.ErrBadInput) || row != nil {
				t.Errorf("err = %v, row = %s; want deid.ErrBadInput", err, row)
			}
		})
	}
}
