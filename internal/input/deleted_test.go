package input

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// bundle returns a Bundle line deleting the given request URLs.
func bundle(urls ...string) string {
	s := `{"resourceType":"Bundle","type":"transaction","entry":[`
	for i, u := range urls {
		if i > 0 {
			s += ","
		}
		s += `{"request":{"method":"DELETE","url":"` + u + `"}}`
	}
	return s + "]}"
}

func TestReadDeleted(t *testing.T) {
	type ids = map[string]map[string]struct{}
	set := func(xs ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, x := range xs {
			m[x] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name    string
		files   map[string]string
		want    ids
		wantErr string
	}{
		{
			name:  "relative Type/id",
			files: map[string]string{"deleted/Bundle.000.ndjson": lines(bundle("Patient/p1", "Condition/c1"))},
			want:  ids{"Patient": set("p1"), "Condition": set("c1")},
		},
		{
			name:  "history and absolute URLs",
			files: map[string]string{"deleted/Bundle.000.ndjson": lines(bundle("Patient/p1/_history/3", "https://ehr.example.org/fhir/R4/Patient/p2", "https://ehr.example.org/fhir/Encounter/e1/_history/1"))},
			want:  ids{"Patient": set("p1", "p2"), "Encounter": set("e1")},
		},
		{
			name: "lines and files are merged, duplicates collapse, empty bundles allowed",
			files: map[string]string{
				"deleted/Bundle.000.ndjson": lines(bundle("Patient/p1"), `{"resourceType":"Bundle","type":"transaction"}`, bundle("Patient/p1", "Patient/p2")),
				"deleted/Bundle.001.ndjson": "\n" + lines(bundle("Patient/p3")),
			},
			want: ids{"Patient": set("p1", "p2", "p3")},
		},
		{name: "no files", files: map[string]string{}, want: ids{}},
		{
			name:    "non-Bundle line",
			files:   map[string]string{"deleted/x.ndjson": lines(bundle("Patient/1"), patient)},
			wantErr: `x.ndjson:2: expected a Bundle of deletions, found resourceType "Patient"`,
		},
		{
			name:    "entry that is not a DELETE",
			files:   map[string]string{"deleted/x.ndjson": lines(`{"resourceType":"Bundle","entry":[{"request":{"method":"DELETE","url":"Patient/1"}},{"request":{"method":"PUT","url":"Patient/2"}}]}`)},
			wantErr: "x.ndjson:1: Bundle entry 1 is not a DELETE request",
		},
		{
			name:    "entry without request",
			files:   map[string]string{"deleted/x.ndjson": lines(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`)},
			wantErr: "x.ndjson:1: Bundle entry 0 is not a DELETE request",
		},
		{name: "url without id", files: map[string]string{"deleted/x.ndjson": lines(bundle("Patient"))}, wantErr: `request.url "Patient" is not Type/id`},
		{name: "url with trailing slash only", files: map[string]string{"deleted/x.ndjson": lines(bundle("Patient/"))}, wantErr: `request.url "Patient/" is not Type/id`},
		{name: "unknown resource type", files: map[string]string{"deleted/x.ndjson": lines(bundle("Patients/1"))}, wantErr: `request.url "Patients/1" is not Type/id`},
		{name: "relative URL with a prefix", files: map[string]string{"deleted/x.ndjson": lines(bundle("fhir/Patient/1"))}, wantErr: `request.url "fhir/Patient/1" is not Type/id`},
		{name: "search URL", files: map[string]string{"deleted/x.ndjson": lines(bundle("Patient?name=x"))}, wantErr: `request.url "Patient?name=x" is not Type/id`},
		{name: "not JSON", files: map[string]string{"deleted/x.ndjson": lines(`{"resourceType":"Bundle",`)}, wantErr: "x.ndjson:1: unexpected end of JSON input"},
		{name: "not an object", files: map[string]string{"deleted/x.ndjson": lines(`[]`)}, wantErr: "x.ndjson:1: not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			var files []File
			for rel := range tt.files {
				files = append(files, localFile(root, rel))
			}
			got, err := ReadDeleted(context.Background(), files)
			if checkErr(t, err, tt.wantErr) {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadDeleted = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseDeleteURL(t *testing.T) {
	tests := []struct {
		url, typ, id string
		ok           bool
	}{
		{"Patient/123", "Patient", "123", true},
		{"Patient/123/_history/2", "Patient", "123", true},
		{"https://host/fhir/Patient/123", "Patient", "123", true},
		{"https://host/fhir/Patient/123/_history/2", "Patient", "123", true},
		{"https://host/Patient/a.b-C", "Patient", "a.b-C", true},
		{"Patient/123/_history", "", "", false},
		{"/Patient/123", "", "", false},
		{"https://host/123", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		typ, id, ok := parseDeleteURL(tt.url)
		if ok != tt.ok || ok && (typ != tt.typ || id != tt.id) {
			t.Errorf("parseDeleteURL(%q) = %q, %q, %v; want %q, %q, %v", tt.url, typ, id, ok, tt.typ, tt.id, tt.ok)
		}
	}
}

// TestReadDeleted_Item11_NamesEveryBadLine: issue 10 item 11. Every bad line of every deleted/
// file is named, not only the first; the list is bounded (the first 100, the others counted) so
// a file of garbage cannot exhaust memory; the error wraps ErrBadDeletions (exit 19).
func TestReadDeleted_Item11_NamesEveryBadLine(t *testing.T) {
	garbage := strings.Repeat("nope\n", 250)
	root := writeTree(t, map[string]string{
		"deleted/a.ndjson": lines(bundle("Patient/1"), patient, bundle("Patient/2"), bundle("Patients/3")),
		"deleted/b.ndjson": garbage,
	})
	_, err := ReadDeleted(context.Background(), []File{localFile(root, "deleted/a.ndjson"), localFile(root, "deleted/b.ndjson")})
	if !errors.Is(err, ErrBadDeletions) {
		t.Fatalf("err = %v, want ErrBadDeletions", err)
	}
	msg := err.Error()
	for _, want := range []string{"(252 lines)", "a.ndjson:2: expected a Bundle", `a.ndjson:4: Bundle entry 0: request.url "Patients/3"`,
		"b.ndjson:1: not a JSON object", "b.ndjson:98: not a JSON object", "... and 152 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%.600s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n  "); n != maxLineErrors+1 {
		t.Errorf("%d lines in the error, want %d named and one count", n, maxLineErrors)
	}
}
