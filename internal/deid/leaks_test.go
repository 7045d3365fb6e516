package deid

import (
	"errors"
	"strings"
	"testing"
)

// Issue 11, leaks 1, 2 and 4.

const (
	raceURL    = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
	maidenURL  = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
	plantedURL = "http://example.org/fhir/secret-nickname/Jane-Quinn"
	darURL     = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
	epicOID    = "urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.30"
)

// Item 1: an unknown extension leaves nothing, not even its URL (a site writes it, and a stub
// is invalid FHIR), at every level; it is counted by URL for the hospital-side run report.
func TestUnknownExtensionsAreDroppedWhole(t *testing.T) {
	longURL := "http://example.org/" + strings.Repeat("x", 100_000)
	runScrubCases(t, []scrubCase{
		{name: "resource level",
			in:      `{"resourceType":"Patient","gender":"male","extension":[{"url":"` + plantedURL + `","valueString":"Johnny Boy"}]}`,
			want:    `{"resourceType":"Patient","gender":"male"}`,
			unknown: map[string]int{plantedURL: 1}},
		{name: "element level, next to an allowed extension",
			in: `{"resourceType":"Observation","code":{"text":"flu","extension":[{"url":"` + plantedURL + `","valueCode":"x"},
				{"url":"` + darURL + `","valueCode":"unknown"}]}}`,
			want:    `{"resourceType":"Observation","code":{"text":"flu","extension":[{"url":"` + darURL + `","valueCode":"unknown"}]}}`,
			unknown: map[string]int{plantedURL: 1}},
		{name: "primitive _field",
			in:      `{"resourceType":"Patient","gender":"male","_gender":{"extension":[{"url":"` + plantedURL + `","valueString":"hidden"}]}}`,
			want:    `{"resourceType":"Patient","gender":"male"}`,
			unknown: map[string]int{plantedURL: 1}},
		{name: "primitive array _field stays aligned",
			in:      `{"resourceType":"Location","alias":["A","B"],"_alias":[{"extension":[{"url":"` + plantedURL + `"}]},{"extension":[{"url":"` + darURL + `","valueCode":"masked"}]}]}`,
			want:    `{"resourceType":"Location","alias":["A","B"],"_alias":[null,{"extension":[{"url":"` + darURL + `","valueCode":"masked"}]}]}`,
			unknown: map[string]int{plantedURL: 1}},
		{name: "Coding level",
			in:      `{"resourceType":"Encounter","class":{"system":"http://x","code":"AMB","extension":[{"url":"` + plantedURL + `","valueString":"Jane"}]}}`,
			want:    `{"resourceType":"Encounter","class":{"system":"http://x","code":"AMB"}}`,
			unknown: map[string]int{plantedURL: 1}},
		{name: "a URL spelled with escapes is counted as it reads",
			in:      `{"resourceType":"Patient","gender":"male","extension":[{"url":"http://example.org/\u004aane","valueString":"x"}]}`,
			want:    `{"resourceType":"Patient","gender":"male"}`,
			unknown: map[string]int{"http://example.org/Jane": 1}},
		{name: "a 100 kB URL is counted short",
			in:      `{"resourceType":"Patient","gender":"male","extension":[{"url":"` + longURL + `"}]}`,
			want:    `{"resourceType":"Patient","gender":"male"}`,
			unknown: map[string]int{`"` + longURL[:maxURLShown] + `"... (100019 bytes)`: 1}},
		{name: "an unknown absolute URL inside an allowed extension",
			in: `{"resourceType":"Patient","extension":[{"url":"` + raceURL + `","extension":[
				{"url":"text","valueString":"White"},{"url":"` + plantedURL + `","valueString":"Jane"}]}]}`,
			want:    `{"resourceType":"Patient","extension":[{"url":"` + raceURL + `","extension":[{"url":"text","valueString":"White"}]}]}`,
			unknown: map[string]int{plantedURL: 1}},
		{name: "expected-and-dropped URLs are dropped but not counted",
			in:      `{"resourceType":"Patient","gender":"male","extension":[{"url":"` + maidenURL + `","valueString":"Lettie Boyle"}]}`,
			want:    `{"resourceType":"Patient","gender":"male"}`,
			unknown: map[string]int{}},
	})
}

func TestUnknownExtensionURLsAreCountedWithinABound(t *testing.T) {
	s := newTestScrubber(t)
	for i := range maxReportedURLs + 5 {
		line := `{"resourceType":"Patient","id":"p","extension":[{"url":"http://x/` + itoa(i) + `"}]}`
		if _, _, _, err := s.ScrubJSON(nil, []byte(line), "Patient"); err != nil {
			t.Fatal(err)
		}
	}
	got := s.UnknownExtensions()
	if len(got) != maxReportedURLs+1 || got[otherURLs] != 5 {
		t.Errorf("%d URLs counted, %d as %q; want %d and 5", len(got), got[otherURLs], otherURLs, maxReportedURLs+1)
	}
}

// Item 2: every generalizing rule, and every rule that keeps a value of a given form, drops a
// value that does not have the form it expects (and counts it) instead of passing it through.
func TestGeneralisingRulesFailClosed(t *testing.T) {
	patient := func(birthDate string) string {
		return `{"resourceType":"Patient","gender":"female","birthDate":"` + birthDate + `"}`
	}
	notDate := map[string]int{"Patient.birthDate: " + whyNotFHIRDate: 1}
	runScrubCases(t, []scrubCase{
		{name: "a birthDate that is not a FHIR date", in: patient("19420815"),
			want: `{"resourceType":"Patient","gender":"female"}`, dropped: notDate},
		{name: "a month that does not exist", in: patient("1942-13-01"),
			want: `{"resourceType":"Patient","gender":"female"}`, dropped: notDate},
		{name: "a dateTime where a date belongs", in: patient("1942-08-15T10:00:00Z"),
			want: `{"resourceType":"Patient","gender":"female"}`, dropped: notDate},
		{name: "text", in: patient("Aug 1942, ask Jane"),
			want: `{"resourceType":"Patient","gender":"female"}`, dropped: notDate},
		{name: "a FHIR date keeps its year", in: patient("1942-08-15"),
			want: `{"resourceType":"Patient","gender":"female","birthDate":"1942"}`, dropped: map[string]int{}},
		{name: "a year and month keeps its year", in: patient("1942-08"),
			want: `{"resourceType":"Patient","gender":"female","birthDate":"1942"}`, dropped: map[string]int{}},
		{name: "a ZIP code that is not one",
			in:      `{"resourceType":"Patient","address":[{"state":"MA","postalCode":"021"}]}`,
			want:    `{"resourceType":"Patient","address":[{"state":"MA"}]}`,
			dropped: map[string]int{"Address.postalCode: " + whyNotZip: 1}},
		{name: "a date field holding text",
			in:      `{"resourceType":"Observation","status":"final","effectiveDateTime":"the day Jane Quinn fell"}`,
			want:    `{"resourceType":"Observation","status":"final"}`,
			dropped: map[string]int{"Observation.effectiveDateTime: " + whyNotDate: 1}},
		{name: "a number field holding a string",
			in:      `{"resourceType":"Observation","status":"final","valueInteger":"42, said Jane"}`,
			want:    `{"resourceType":"Observation","status":"final"}`,
			dropped: map[string]int{"Observation.valueInteger: " + whyNotNumber: 1}},
		{name: "dates and times in every FHIR form stay",
			in: `{"resourceType":"Observation","effectiveDateTime":"2020-01-02T03:04:05.678+01:00","issued":"2020-01-02T03:04:05Z",
				"valueTime":"08:30:00","component":[{"valueDateTime":"2020"},{"valueDateTime":"2020-01-02 03:04"}]}`,
			want: `{"resourceType":"Observation","effectiveDateTime":"2020-01-02T03:04:05.678+01:00","issued":"2020-01-02T03:04:05Z",
				"valueTime":"08:30:00","component":[{"valueDateTime":"2020"},{"valueDateTime":"2020-01-02 03:04"}]}`,
			dropped: map[string]int{}},
	})
}

// Item 4: a resource that repeats a key anywhere is a bad row, in the byte scrubber and in the
// map path (whose repeatsAKey check the differential tests share), since a reader that keeps
// the first of two values sees one the rules never checked.
func TestDuplicateKeysRejectTheRow(t *testing.T) {
	wide := func(keys int) string {
		line := `{"resourceType":"Observation","id":"o"`
		for i := range keys {
			line += `,"f` + itoa(i) + `":1`
		}
		return line + `,"f7":2}`
	}
	tests := []struct{ name, line string }{
		{"two systems in a Coding, an Epic OID then LOINC",
			`{"resourceType":"Encounter","id":"e","class":{"system":"` + epicOID + `","code":"Jane Quinn","display":"Jane Quinn","system":"http://loinc.org"}}`},
		{"two identifier systems, an MRN then the NPI",
			`{"resourceType":"Practitioner","id":"p","identifier":[{"system":"http://hospital/mrn","value":"MRN-4471","system":"http://hl7.org/fhir/sid/us-npi"}]}`},
		{"two urls in one extension",
			`{"resourceType":"Patient","id":"p","extension":[{"url":"` + darURL + `","valueString":"Jane","url":"` + plantedURL + `"}]}`},
		{"the same key spelled with an escape", `{"resourceType":"Patient","id":"p","gend\u0065r":"male","gender":"female"}`},
		{"two ids", `{"resourceType":"Patient","id":"p1","id":"p2"}`},
		{"in a part the rules drop anyway", `{"resourceType":"Patient","id":"p","text":{"div":"x","div":"y"}}`},
		{"in an object of many keys", wide(20)},
		{"in an object of more keys than are checked one by one", wide(3 * manyKeys)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, _, err := newTestScrubber(t).ScrubJSON([]byte("prefix"), []byte(tt.line), "")
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "repeats a key") || string(out) != "prefix" {
				t.Fatalf("ScrubJSON = %q, %v; want ErrBadInput for a repeated key and nothing written", out, err)
			}
			for _, phi := range []string{"Jane", "MRN", "male"} {
				if strings.Contains(err.Error(), phi) {
					t.Errorf("error %q repeats a value", err)
				}
			}
			if _, class := mapScrub(newTestScrubber(t), []byte(tt.line), ""); class != classBadInput {
				t.Errorf("map path: %s, want %s", class, classBadInput)
			}
		})
	}
	t.Run("the same key in different objects is fine", func(t *testing.T) {
		line := `{"resourceType":"Observation","id":"o","code":{"text":"a"},"category":[{"text":"b"},{"text":"c"}]}`
		if _, _, _, err := newTestScrubber(t).ScrubJSON(nil, []byte(line), ""); err != nil {
			t.Fatal(err)
		}
	})
}
