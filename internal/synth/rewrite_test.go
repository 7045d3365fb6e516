package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestIDRewriterPrefixesIDsAndRelativeReferencesOnly(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		urlIsRef       bool
	}{
		{"resource id", `{"resourceType":"Patient","id":"p1"}`, `{"resourceType":"Patient","id":"c7-p1"}`, false},
		{"relative reference", `{"subject":{"reference":"Patient/p1","display":"Patient/p1"}}`, `{"subject":{"reference":"Patient/c7-p1","display":"Patient/p1"}}`, false},
		{"versioned reference", `{"reference":"Patient/p1/_history/3"}`, `{"reference":"Patient/c7-p1/_history/3"}`, false},
		{"contained id and local reference", `{"contained":[{"resourceType":"Medication","id":"med1"}],"medicationReference":{"reference":"#med1"}}`, `{"contained":[{"resourceType":"Medication","id":"c7-med1"}],"medicationReference":{"reference":"#c7-med1"}}`, false},
		{"absolute and urn references unchanged", `{"a":{"reference":"https://x.org/fhir/Patient/p1"},"b":{"reference":"urn:uuid:1234"}}`, `{"a":{"reference":"https://x.org/fhir/Patient/p1"},"b":{"reference":"urn:uuid:1234"}}`, false},
		{"whitespace around colon", `{ "id" : "p1", "x": { "reference" :"Encounter/e.2" } }`, `{ "id" : "c7-p1", "x": { "reference" :"Encounter/c7-e.2" } }`, false},
		{"key names inside string values", `{"text":"\"id\":\"p1\" and \"reference\":\"Patient/p1\"","note":"id"}`, `{"text":"\"id\":\"p1\" and \"reference\":\"Patient/p1\"","note":"id"}`, false},
		{"escaped string value", `{"id":"p\u0031","reference":"Patient\/p1"}`, `{"id":"c7-p1","reference":"Patient/c7-p1"}`, false},
		{"non-string id untouched", `{"id":12,"reference":null}`, `{"id":12,"reference":null}`, false},
		{"url is not a reference in resources", `{"url":"Binary/b1"}`, `{"url":"Binary/b1"}`, false},
		{"url is a reference in deleted bundles", `{"request":{"method":"DELETE","url":"Condition/x1"}}`, `{"request":{"method":"DELETE","url":"Condition/c7-x1"}}`, true},
		{"extension urls unchanged in deleted bundles", `{"url":"http://example.org/ext"}`, `{"url":"http://example.org/ext"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := idRewriter{prefix: []byte("c7-"), urlIsRef: tc.urlIsRef}.rewrite(nil, []byte(tc.in))
			if err != nil || string(got) != tc.want {
				t.Errorf("rewrite(%s)\n got %s, %v\nwant %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestIDRewriterRejectsUnterminatedString(t *testing.T) {
	if _, err := (idRewriter{prefix: []byte("c1-")}).rewrite(nil, []byte(`{"id":"abc`)); err == nil {
		t.Error("unterminated string accepted")
	}
}

func BenchmarkIDRewriter(b *testing.B) {
	dir, _ := generate(b, Options{Patients: 20, Seed: 1})
	data, err := os.ReadFile(filepath.Join(dir, "Observation.000.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	w := idRewriter{prefix: []byte("c12-")}
	var out []byte
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for _, l := range lines {
			if out, err = w.rewrite(out[:0], l); err != nil {
				b.Fatal(err)
			}
		}
	}
}
