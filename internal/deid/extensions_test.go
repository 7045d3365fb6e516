package deid

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const (
	raceURL    = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
	maidenURL  = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
	plantedURL = "http://example.org/fhir/secret-nickname"
)

func TestRuleUnknownExtensionBecomesCountedStub(t *testing.T) {
	s := newTestScrubber(t)
	res := decode(t, `{"resourceType":"Patient","extension":[
		{"url":"`+plantedURL+`","valueString":"Johnny Boy"},
		{"url":"`+plantedURL+`","valueString":"Jack"},
		{"url":"`+maidenURL+`","valueString":"Lettie Boyle"}],
		"gender":"male","_gender":{"extension":[{"url":"`+plantedURL+`","valueString":"hidden"}]}}`)
	if _, err := s.Scrub(res); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res)
	want := canonical(t, `{"resourceType":"Patient","extension":[{"url":"`+plantedURL+`"},{"url":"`+plantedURL+`"},{"url":"`+maidenURL+`"}],
		"gender":"male","_gender":{"extension":[{"url":"`+plantedURL+`"}]}}`)
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Expected-and-dropped URLs (the maiden name) are stubbed but not reported as unknown.
	if c := s.UnknownExtensions(); !reflect.DeepEqual(c, map[string]int{plantedURL: 3}) {
		t.Errorf("UnknownExtensions = %v", c)
	}
}

func TestRuleNestedExtension(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "relative parts of an allowed extension are kept, absolute ones are checked again",
			in: `{"resourceType":"Patient","extension":[{"url":"` + raceURL + `","extension":[
				{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}},
				{"url":"text","valueString":"White"},
				{"url":"` + plantedURL + `","valueString":"Jane"},
				{"valueString":"no url"}]}]}`,
			want: `{"resourceType":"Patient","extension":[{"url":"` + raceURL + `","extension":[
				{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}},
				{"url":"text","valueString":"White"},
				{"url":"` + plantedURL + `"}]}]}`},
		{name: "relative URLs at the top level are unknown",
			in:   `{"resourceType":"Patient","extension":[{"url":"text","valueString":"Jane"}]}`,
			want: `{"resourceType":"Patient","extension":[{"url":"text"}]}`},
		{name: "allowed extension values are scrubbed with the Extension rules",
			in:   `{"resourceType":"Patient","extension":[{"url":"` + raceURL + `","valueHumanName":{"family":"Doe"},"valueReference":{"reference":"Patient/p1","display":"Jane"}}]}`,
			want: `{"resourceType":"Patient","extension":[{"url":"` + raceURL + `","valueReference":{"reference":"Patient/FAKE(p1)"}}]}`},
		{name: "extension without url is dropped",
			in:   `{"resourceType":"Patient","gender":"female","extension":[{"valueString":"Jane"}]}`,
			want: `{"resourceType":"Patient","gender":"female"}`},
	})
}

func TestRuleUnknownModifierExtensionSkipsResource(t *testing.T) {
	const polarity = "http://fhir-registry.smarthealthit.org/StructureDefinition/nlp-polarity"
	tests := []struct {
		name, in string
		want     Outcome
	}{
		{"top level", `{"resourceType":"Condition","modifierExtension":[{"url":"http://x/negated","valueBoolean":true}]}`, SkippedModifierExtension},
		{"in a backbone element", `{"resourceType":"Condition","stage":[{"modifierExtension":[{"url":"http://x/negated"}]}]}`, SkippedModifierExtension},
		{"in a contained resource", `{"resourceType":"Condition","contained":[{"resourceType":"Patient","modifierExtension":[{"url":"http://x/m"}]}]}`, SkippedModifierExtension},
		{"without url", `{"resourceType":"Condition","modifierExtension":[{"valueBoolean":true}]}`, SkippedModifierExtension},
		{"known modifier is kept", `{"resourceType":"Condition","modifierExtension":[{"url":"` + polarity + `","valueInteger":0}]}`, Kept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestScrubber(t)
			res := decode(t, tt.in)
			got, err := s.Scrub(res)
			if err != nil || got != tt.want {
				t.Fatalf("Scrub = %v, %v; want %v", got, err, tt.want)
			}
			if tt.want == Kept && res["modifierExtension"] == nil {
				t.Error("known modifierExtension was dropped")
			}
			if tt.want == SkippedModifierExtension && len(s.SkippedModifierExtensions()) != 1 {
				t.Errorf("SkippedModifierExtensions = %v", s.SkippedModifierExtensions())
			}
		})
	}
}

func TestRuleEmptyContainersAreRemoved(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "objects and arrays emptied by scrubbing disappear",
			in: `{"resourceType":"Encounter","id":"e1","participant":[{"individual":{"display":"Dr Who"}}],
				"hospitalization":{"preAdmissionIdentifier":{"value":"X"}},"location":[],"period":{}}`,
			want: `{"resourceType":"Encounter","id":"FAKE(e1)"}`},
		{name: "a primitive sibling emptied by scrubbing disappears",
			in:   `{"resourceType":"Encounter","status":"finished","_status":{"id":"s"}}`,
			want: `{"resourceType":"Encounter","status":"finished"}`},
		{name: "primitive array siblings stay aligned",
			in:   `{"resourceType":"Location","alias":["A","B"],"_alias":[null,{"id":"x","extension":[{"url":"` + raceURL + `","valueCode":"c"}]}]}`,
			want: `{"resourceType":"Location","alias":["A","B"],"_alias":[null,{"extension":[{"url":"` + raceURL + `","valueCode":"c"}]}]}`},
	})
}

func TestRuleSubsetKeepsOnlyListedSystems(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "NPI kept, other practitioner identifiers dropped",
			in: `{"resourceType":"Practitioner","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999"},
				{"system":"http://hl7.org/fhir/sid/us-ssn","value":"999-11-2222"}],"name":[{"family":"Doe"}]}`,
			want: `{"resourceType":"Practitioner","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999"}]}`},
		{name: "patient identifiers are never kept",
			in:   `{"resourceType":"Patient","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999"}]}`,
			want: `{"resourceType":"Patient"}`},
	})
}

func TestScrubUnsupportedType(t *testing.T) {
	s := newTestScrubber(t)
	for _, rt := range []string{"Claim", ""} {
		if _, err := s.Scrub(map[string]any{"resourceType": rt}); err == nil || !strings.Contains(err.Error(), "no de-identification rules") {
			t.Errorf("Scrub(%q) err = %v", rt, err)
		}
		if s.SupportsType(rt) {
			t.Errorf("SupportsType(%q) = true", rt)
		}
	}
}

func TestRulesCoverAllTaskResourceTypes(t *testing.T) {
	s := newTestScrubber(t)
	for _, rt := range taskResourceTypes {
		if !s.SupportsType(rt) {
			t.Errorf("no rules for %s", rt)
		}
	}
}

var taskResourceTypes = []string{
	"AllergyIntolerance", "Condition", "Device", "DiagnosticReport", "DocumentReference", "Encounter",
	"EpisodeOfCare", "Immunization", "Location", "Medication", "MedicationDispense", "MedicationRequest",
	"Observation", "Organization", "Patient", "Practitioner", "PractitionerRole", "Procedure",
	"ServiceRequest", "Specimen",
}

func TestCompileRulesRejectsMistakes(t *testing.T) {
	base := "[datatypes.Extension]\nurl = \"keep\"\n"
	tests := []struct{ name, file, wantErr string }{
		{"unknown action", base + "[resources.Patient]\ngender = \"keeep\"\n", `unknown action or datatype "keeep"`},
		{"unknown datatype", base + "[resources.Patient]\nname = \"HumanName\"\n", `"HumanName"`},
		{"unknown section", base + "[extensionz]\nallowed = []\n", "unknown key"},
		{"subset of a non-datatype", base + "[subsets.X]\nof = \"Nope\"\n", "not a datatype"},
		{"underscore field", base + "[resources.Patient]\n_gender = \"keep\"\n", "may not start with '_'"},
		{"no Extension datatype", "[resources.Patient]\ngender = \"keep\"\n", "Extension datatype is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileRules([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
