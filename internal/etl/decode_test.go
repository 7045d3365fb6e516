package etl

import (
	"errors"
	"testing"
)

func TestDecodeKeepsNumbersExact(t *testing.T) {
	line := `{"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.50},"component":[{"valueInteger":12345678901234567890}],"x":2.0e3}`
	res, err := decodeResource([]byte(line), "Observation")
	if err != nil {
		t.Fatal(err)
	}
	out, err := encodeResource(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"component":[{"valueInteger":12345678901234567890}],"id":"o1","resourceType":"Observation","valueQuantity":{"value":1.50},"x":2.0e3}`
	if string(out) != want {
		t.Errorf("round trip = %s, want %s", out, want)
	}
}

func TestDecodeRejectsBadRows(t *testing.T) {
	cases := []struct{ name, line string }{
		{"truncated", `{"resourceType":"Observation","id":"o1"`},
		{"two objects", `{"resourceType":"Observation","id":"o1"}{"a":1}`},
		{"array", `[{"resourceType":"Observation","id":"o1"}]`},
		{"string", `"Observation"`},
		{"id not a string", `{"resourceType":"Observation","id":5}`},
		{"empty id", `{"resourceType":"Observation","id":""}`},
		{"no resourceType", `{"id":"o1"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeResource([]byte(tc.line), "Observation"); !errors.Is(err, errBadRow) {
				t.Errorf("err = %v, want errBadRow", err)
			}
		})
	}
}
