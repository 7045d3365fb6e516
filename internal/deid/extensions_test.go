package deid

import (
	"strings"
	"testing"
)

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
			in:   `{"resourceType":"Location","alias":["A","B"],"_alias":[null,{"id":"x","extension":[{"url":"` + darURL + `","valueCode":"c"}]}]}`,
			want: `{"resourceType":"Location","alias":["A","B"],"_alias":[null,{"extension":[{"url":"` + darURL + `","valueCode":"c"}]}]}`},
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
	base := "[datatypes.Extension]\nurl = \"code\"\n"
	tests := []struct{ name, file, wantErr string }{
		{"unknown action", base + "[resources.Patient]\ngender = \"keeep\"\n", `unknown action or datatype "keeep"`},
		{"unknown datatype", base + "[resources.Patient]\nname = \"HumanName\"\n", `"HumanName"`},
		{"unknown section", base + "[extensionz]\nallowed = []\n", "unknown key"},
		{"subset of a non-datatype", base + "[subsets.X]\nof = \"Nope\"\n", "not a datatype"},
		{"underscore field", base + "[resources.Patient]\n_gender = \"code\"\n", "may not start with '_'"},
		{"no Extension datatype", "[resources.Patient]\ngender = \"code\"\n", "Extension datatype is missing"},
		{"free text without a reason", base + "[resources.Patient]\nname = \"text\"\n", "write the reason"},
		{"an extension value type the Extension datatype lacks", base + "[extensions.allowed]\n\"http://x/e\" = \"valueHumanName\"\n", "not a value[x]"},
		{"an extension part with an absolute URL", base + "[extensions.allowed]\n\"http://x/e\" = { \"http://x/p\" = \"coded\" }\n", "relative URL"},
		{"a relative extension URL", base + "[extensions.allowed]\n\"e\" = \"coded\"\n", "not an absolute URL"},
		{"a site-specific system without a source", base + "[[systems.site_specific]]\nvendor = \"X\"\noid = \"1.2\"\n", "vendor and source are required"},
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
