package deid

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const testCodebook = `{"version": 1, "id_salt": "1234", "codebook_id": "test"}`

func newTestScrubber(t testing.TB) *Scrubber {
	t.Helper()
	s, err := NewScrubber(mustParse(t, testCodebook))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

var fakeToken = regexp.MustCompile(`FAKE\(([^)]*)\)`)

// canonical re-encodes JSON with sorted keys, after replacing FAKE(id) with the test
// codebook's fake id for id.
func canonical(t testing.TB, s string) string {
	t.Helper()
	cb := mustParse(t, testCodebook)
	s = fakeToken.ReplaceAllStringFunc(s, func(tok string) string {
		return cb.FakeID("", fakeToken.FindStringSubmatch(tok)[1])
	})
	out, err := json.Marshal(decode(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

type scrubCase struct {
	name    string
	in      string
	want    string // expected JSON (FAKE(id) allowed) when the resource is kept
	outcome Outcome
	unknown map[string]int // when set, the UnknownExtensions each scrubber must count
	dropped map[string]int // when set, the DroppedValues each scrubber must count
}

// runScrubCases runs each case through both scrubbers, the map scrubber Scrub and the byte
// scrubber ScrubJSON the ETL runs, and requires the exact expected output (and counts) from each.
func runScrubCases(t *testing.T, cases []scrubCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			ms, bs := newTestScrubber(t), newTestScrubber(t)
			res := decode(t, tt.in)
			outcome, err := ms.Scrub(res)
			if err != nil {
				t.Fatal(err)
			}
			if outcome != tt.outcome {
				t.Fatalf("outcome = %v, want %v", outcome, tt.outcome)
			}
			line, hadID := withID(t, tt.in)
			out, _, byteOutcome, err := bs.ScrubJSON(nil, line, "")
			if err != nil || byteOutcome != tt.outcome {
				t.Fatalf("ScrubJSON = %v, %v; want %v", byteOutcome, err, tt.outcome)
			}
			for name, s := range map[string]*Scrubber{"Scrub": ms, "ScrubJSON": bs} {
				if tt.unknown != nil && !reflect.DeepEqual(s.UnknownExtensions(), tt.unknown) {
					t.Errorf("%s: UnknownExtensions = %v, want %v", name, s.UnknownExtensions(), tt.unknown)
				}
				if tt.dropped != nil && !reflect.DeepEqual(s.DroppedValues(), tt.dropped) {
					t.Errorf("%s: DroppedValues = %v, want %v", name, s.DroppedValues(), tt.dropped)
				}
			}
			if outcome != Kept {
				return
			}
			if !hadID {
				out = withoutID(t, out)
			}
			want := canonical(t, tt.want)
			if got, _ := json.Marshal(res); string(got) != want {
				t.Errorf("Scrub:\ngot  %s\nwant %s", got, want)
			}
			if got := canonical(t, string(out)); got != want {
				t.Errorf("ScrubJSON:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// withID returns the line of a test resource, given an id if it has none (ScrubJSON refuses a
// resource without one), and whether it had one.
func withID(t *testing.T, in string) ([]byte, bool) {
	t.Helper()
	res := decode(t, in)
	if _, ok := res["id"]; ok {
		return []byte(in), true
	}
	res["id"] = "test-id"
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return line, false
}

// withoutID removes the id withID added from ScrubJSON's output.
func withoutID(t *testing.T, out []byte) []byte {
	t.Helper()
	res := decode(t, string(out))
	delete(res, "id")
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRuleKeep(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "primitives and arrays of primitives are kept",
			in:   `{"resourceType":"Observation","status":"final","valueBoolean":true,"valueInteger":7,"meta":{"profile":["a","b"]}}`,
			want: `{"resourceType":"Observation","status":"final","valueBoolean":true,"valueInteger":7,"meta":{"profile":["a","b"]}}`},
		{name: "strings are trimmed and empty ones dropped",
			in:   `{"resourceType":"Observation","status":" final ","issued":"  "}`,
			want: `{"resourceType":"Observation","status":"final"}`},
		{name: "unlisted fields are dropped",
			in:   `{"resourceType":"Observation","status":"final","note":[{"text":"called Mrs Smith"}],"text":{"div":"<div>x</div>"},"identifier":[{"value":"MRN1"}]}`,
			want: `{"resourceType":"Observation","status":"final"}`},
		{name: "nulls are dropped",
			in:   `{"resourceType":"Observation","status":null,"issued":"2020"}`,
			want: `{"resourceType":"Observation","issued":"2020"}`},
	})
}

func TestRuleNonLeafWhereLeafExpectedIsDroppedAndCounted(t *testing.T) {
	s := newTestScrubber(t)
	res := decode(t, `{"resourceType":"Observation","status":{"hidden":"Jane Doe"},"issued":[["x"]],"code":{"text":"ok"}}`)
	if _, err := s.Scrub(res); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res)
	if want := `{"code":{"text":"ok"},"resourceType":"Observation"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	counts := s.ShapeMismatches()
	if counts["Observation.status"] != 1 || counts["Observation.issued"] != 1 {
		t.Errorf("ShapeMismatches = %v", counts)
	}
}

func TestRuleLeafWhereObjectExpectedIsDroppedAndCounted(t *testing.T) {
	s := newTestScrubber(t)
	res := decode(t, `{"resourceType":"Observation","code":"Jane","category":[{"text":"vital"},"Doe"]}`)
	if _, err := s.Scrub(res); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res)
	if want := `{"category":[{"text":"vital"}],"resourceType":"Observation"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if c := s.ShapeMismatches(); c["Observation.code"] != 1 || c["Observation.category"] != 1 {
		t.Errorf("ShapeMismatches = %v", c)
	}
}

const masked = `{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"masked"}]}`

func TestRuleMask(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "Observation.valueString is masked",
			in:   `{"resourceType":"Observation","valueString":"Patient John Smith said hi"}`,
			want: `{"resourceType":"Observation","_valueString":` + masked + `}`},
		{name: "component.valueString is masked, replacing an existing sibling",
			in:   `{"resourceType":"Observation","component":[{"valueString":"x","_valueString":{"id":"a"}}]}`,
			want: `{"resourceType":"Observation","component":[{"_valueString":` + masked + `}]}`},
		{name: "Attachment data and url are masked",
			in: `{"resourceType":"DocumentReference","content":[{"attachment":{"contentType":"text/plain","data":"Tm90ZQ==","url":"Binary/1","title":"Note on Jane","hash":"abc"}}]}`,
			want: `{"resourceType":"DocumentReference","content":[{"attachment":{"contentType":"text/plain","_data":` + masked +
				`,"_url":` + masked + `}}]}`},
		{name: "a masked array gets one marker per element",
			in:   `{"resourceType":"Observation","valueString":["a","b"]}`,
			want: `{"resourceType":"Observation","_valueString":[` + masked + `,` + masked + `]}`},
	})
}

func TestRuleAnonID(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "resource id",
			in:   `{"resourceType":"Condition","id":"c1"}`,
			want: `{"resourceType":"Condition","id":"FAKE(c1)"}`},
		{name: "element ids are dropped",
			in:   `{"resourceType":"Condition","id":"c1","code":{"id":"el-1","text":"flu"}}`,
			want: `{"resourceType":"Condition","id":"FAKE(c1)","code":{"text":"flu"}}`},
		{name: "contained resource ids hash like contained references",
			in:   `{"resourceType":"MedicationRequest","contained":[{"resourceType":"Medication","id":"m1","code":{"text":"aspirin"}}],"medicationReference":{"reference":"#m1","display":"aspirin for Jane"}}`,
			want: `{"resourceType":"MedicationRequest","contained":[{"resourceType":"Medication","id":"FAKE(m1)","code":{"text":"aspirin"}}],"medicationReference":{"reference":"#FAKE(m1)"}}`},
	})
}

func TestRuleAnonIDUsesLegacyPatientMapping(t *testing.T) {
	s, err := NewScrubber(mustParse(t, `{"version":1,"id_salt":"1234","codebook_id":"x","Patient":{"p1":"legacy-p1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res := decode(t, `{"resourceType":"Patient","id":"p1"}`)
	obs := decode(t, `{"resourceType":"Observation","subject":{"reference":"Patient/p1"}}`)
	for _, r := range []map[string]any{res, obs} {
		if _, err := s.Scrub(r); err != nil {
			t.Fatal(err)
		}
	}
	if res["id"] != "legacy-p1" || obs["subject"].(map[string]any)["reference"] != "Patient/legacy-p1" {
		t.Errorf("legacy mapping not used: %v %v", res, obs)
	}
}

func TestRuleAnonRef(t *testing.T) {
	obs := func(ref string) string {
		return `{"resourceType":"Observation","subject":` + ref + `}`
	}
	runScrubCases(t, []scrubCase{
		{name: "Type/id", in: obs(`{"reference":"Patient/p1","display":"Jane Doe","identifier":{"value":"MRN"}}`),
			want: obs(`{"reference":"Patient/FAKE(p1)"}`)},
		{name: "version suffix is dropped", in: obs(`{"reference":"Patient/p1/_history/3"}`),
			want: obs(`{"reference":"Patient/FAKE(p1)"}`)},
		{name: "contained", in: obs(`{"reference":"#p12"}`), want: obs(`{"reference":"#FAKE(p12)"}`)},
		{name: "bare id with type", in: obs(`{"reference":"p1","type":"Patient"}`),
			want: obs(`{"reference":"Patient/FAKE(p1)","type":"Patient"}`)},
	})
}

// TestScrubbersAreSafeForConcurrentUse runs the map scrubber and the byte scrubber from many
// goroutines on one Scrubber: same output every time, every unknown extension counted once.
func TestScrubbersAreSafeForConcurrentUse(t *testing.T) {
	const in = `{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},
		"extension":[{"url":"http://example.org/unknown","valueString":"x"}],"valueString":"secret"}`
	scrubbers := map[string]func(s *Scrubber) (string, error){
		"Scrub": func(s *Scrubber) (string, error) {
			res := decode(t, in)
			_, err := s.Scrub(res)
			got, _ := json.Marshal(res)
			return string(got), err
		},
		"ScrubJSON": func(s *Scrubber) (string, error) {
			out, _, _, err := s.ScrubJSON(nil, []byte(in), "Observation")
			return canonical(t, string(out)), err
		},
	}
	want := canonical(t, `{"resourceType":"Observation","id":"FAKE(o1)","subject":{"reference":"Patient/FAKE(p1)"},
		"_valueString":`+masked+`}`)
	for name, scrub := range scrubbers {
		t.Run(name, func(t *testing.T) {
			s := newTestScrubber(t)
			const workers, each = 4, 200
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range each {
						got, err := scrub(s)
						if err != nil || got != want {
							t.Errorf("got %s, %v", got, err)
							return
						}
					}
				})
			}
			wg.Wait()
			if got := s.UnknownExtensions()["http://example.org/unknown"]; got != workers*each {
				t.Errorf("unknown extension counted %d times, want %d", got, workers*each)
			}
		})
	}
}
