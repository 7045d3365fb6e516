package deid

import (
	"strings"
	"testing"
)

// Issue 11, channels Cumulus shares: items 5, 6 and 7.

const maskedExt = `{"url":"` + darURL + `","valueCode":"masked"}`

// Item 5: site-specific code systems are recognised however they are written, and the display
// of a code from one is dropped (the code stays when numeric).
func TestSiteSpecificSystemsAreRecognisedHoweverWritten(t *testing.T) {
	class := func(system, code string) string {
		return `{"resourceType":"Encounter","class":{"system":"` + system + `","code":"` + code + `","display":"Jane Quinn"}}`
	}
	kept := func(system, code string) string {
		return `{"resourceType":"Encounter","class":{"system":"` + strings.TrimSpace(system) + `","code":"` + code + `","extension":[` + maskedExt + `]}}`
	}
	cleared := func(system string) string {
		return `{"resourceType":"Encounter","class":{"system":"` + strings.TrimSpace(system) + `","extension":[` + maskedExt + `]}}`
	}
	cerner := "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/71"
	var cases []scrubCase
	for _, sys := range []string{
		epicOID,
		"URN:OID:1.2.840.114350.1.13.0.1.7.10.698084.30",
		"  urn:oid:1.2.840.114350.1.13.0.1.7.10.698084.30 ",
		"urn:oid: 1.2.840.114350.1.13.0.1.7.10.698084.30",
		"1.2.840.114350.1.13.0.1.7.10.698084.30",
		"urn:oid:1.2.840.114350",
		cerner,
		"HTTPS://FHIR.US-1.CERNER.COM/ec2458f2/CODESET/4",
		"http://fhir.cerner.com:443/tenant/codeSet/4",
	} {
		cases = append(cases,
			scrubCase{name: sys + ": numeric code stays, display goes", in: class(sys, "5"), want: kept(sys, "5")},
			scrubCase{name: sys + ": free-text code goes with its display", in: class(sys, "Call Jane at home"), want: cleared(sys)})
	}
	for _, sys := range []string{
		"urn:oid:1.2.840.1143501.1", // another root that starts with the same digits
		"urn:oid:2.16.840.1.113883.6.96",
		"https://fhir-ehr.cerner.com/r4/StructureDefinition/precision", // Oracle Health, but not a code set
		"https://evilcerner.com/x/codeSet/1",
		"http://loinc.org",
	} {
		cases = append(cases, scrubCase{name: sys + " is not site-specific", in: class(sys, "Jane"),
			want: `{"resourceType":"Encounter","class":{"system":"` + sys + `","code":"Jane","display":"Jane Quinn"}}`})
	}
	cases = append(cases, scrubCase{name: "a Quantity code of a site-specific system",
		in:   `{"resourceType":"Observation","valueQuantity":{"value":1,"system":"` + cerner + `","code":"per Jane"}}`,
		want: `{"resourceType":"Observation","valueQuantity":{"value":1,"system":"` + cerner + `","extension":[` + maskedExt + `]}}`})
	runScrubCases(t, cases)
}

// Item 6: an allowed extension keeps only the value types (and parts) its definition allows.
func TestAllowedExtensionsKeepOnlyTheirDefinedValueTypes(t *testing.T) {
	patient := func(exts string) string {
		return `{"resourceType":"Patient","gender":"female","extension":[` + exts + `]}`
	}
	const (
		assertedURL = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
		epicURL     = "http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex"
		omb         = `{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}}`
	)
	runScrubCases(t, []scrubCase{
		{name: "data-absent-reason keeps its code, not a string",
			in:   patient(`{"url":"` + darURL + `","valueCode":"unknown","valueString":"Jane Quinn refused"}`),
			want: patient(`{"url":"` + darURL + `","valueCode":"unknown"}`)},
		{name: "an extension left with only its url goes",
			in:   `{"resourceType":"Condition","onsetDateTime":"2020","extension":[{"url":"` + assertedURL + `","valueString":"when Jane said so"}]}`,
			want: `{"resourceType":"Condition","onsetDateTime":"2020"}`, unknown: map[string]int{}},
		{name: "assertedDate keeps its dateTime",
			in:   `{"resourceType":"Condition","extension":[{"url":"` + assertedURL + `","valueDateTime":"2020-01-02"}]}`,
			want: `{"resourceType":"Condition","extension":[{"url":"` + assertedURL + `","valueDateTime":"2020-01-02"}]}`},
		{name: "race keeps its defined parts, not one it does not define",
			in: patient(`{"url":"` + raceURL + `","extension":[` + omb + `,{"url":"text","valueString":"White"},
				{"url":"nickname","valueString":"Janie"},{"url":"ombCategory","valueString":"Jane"}]}`),
			want:    patient(`{"url":"` + raceURL + `","extension":[` + omb + `,{"url":"text","valueString":"White"}]}`),
			unknown: map[string]int{raceURL + " > nickname": 1}},
		{name: "a part's value of a type the definition does not give it goes",
			in:   patient(`{"url":"` + raceURL + `","extension":[{"url":"text","valueCode":"W","valueString":"White"}]}`),
			want: patient(`{"url":"` + raceURL + `","extension":[{"url":"text","valueString":"White"}]}`)},
		{name: "a relative part of an extension that has none goes",
			in:      patient(`{"url":"` + darURL + `","valueCode":"unknown","extension":[{"url":"note","valueCode":"x"}]}`),
			want:    patient(`{"url":"` + darURL + `","valueCode":"unknown"}`),
			unknown: map[string]int{darURL + " > note": 1}},
		{name: "an extension of unpublished definition keeps structured values only",
			in: patient(`{"url":"` + epicURL + `","valueCodeableConcept":{"text":"female"}},
				{"url":"` + epicURL + `","valueString":"Jane Quinn","valueIdentifier":{"value":"MRN-4471"},"valueUri":"http://x/Jane"}`),
			want: patient(`{"url":"` + epicURL + `","valueCodeableConcept":{"text":"female"}}`)},
		{name: "an extension of unpublished definition keeps structured parts",
			in:   patient(`{"url":"` + epicURL + `","extension":[{"url":"a","valueCode":"x"},{"url":"b","valueString":"Jane"}]}`),
			want: patient(`{"url":"` + epicURL + `","extension":[{"url":"a","valueCode":"x"}]}`)},
		{name: "a nested allowed extension is scrubbed with its own definition",
			in:   patient(`{"url":"` + raceURL + `","extension":[{"url":"text","valueString":"W","extension":[{"url":"` + darURL + `","valueCode":"masked","valueString":"Jane"}]}]}`),
			want: patient(`{"url":"` + raceURL + `","extension":[{"url":"text","valueString":"W","extension":[` + maskedExt + `]}]}`)},
	})
}

// Item 7: every rule that keeps a primitive says what it keeps in one word, and every one that
// keeps free text says why.
func TestEveryKeptStringIsClassified(t *testing.T) {
	texts := 0
	eachRuleNode(t, func(n *node) {
		for name, r := range n.fields {
			switch {
			case r.act.isLeaf() && r.act != actMask && r.class == classNone:
				t.Errorf("%s.%s keeps a value without saying what it is", n.name, name)
			case r.class == classText && len(n.whys[name]) < 20:
				t.Errorf("%s.%s keeps free text without a written reason (%q)", n.name, name, n.whys[name])
			case r.class == classText:
				texts++
			}
		}
	})
	if texts < 5 {
		t.Errorf("only %d free-text rules found: the walk missed some", texts)
	}
}

// Item 7: the free text the audit found is no longer kept.
func TestFreeTextFoundInTheAuditIsDropped(t *testing.T) {
	runScrubCases(t, []scrubCase{
		{name: "meta.source, and meta.tag and meta.security displays",
			in: `{"resourceType":"Observation","status":"final","meta":{"source":"#Jane-Quinn-laptop","versionId":"3",
				"tag":[{"system":"http://x","code":"a","display":"flagged by Jane"}],"security":[{"system":"http://y","code":"R","display":"Jane's sister works here"}]}}`,
			want: `{"resourceType":"Observation","status":"final","meta":{"versionId":"3",
				"tag":[{"system":"http://x","code":"a"}],"security":[{"system":"http://y","code":"R"}]}}`},
		{name: "SampledData.data",
			in:   `{"resourceType":"Observation","valueSampledData":{"period":10,"dimensions":1,"data":"1 2 3 Jane"}}`,
			want: `{"resourceType":"Observation","valueSampledData":{"period":10,"dimensions":1}}`},
		{name: "qualification.identifier",
			in:   `{"resourceType":"Practitioner","qualification":[{"identifier":[{"system":"http://x/license","value":"LIC-778"}],"code":{"text":"MD"}}]}`,
			want: `{"resourceType":"Practitioner","qualification":[{"code":{"text":"MD"}}]}`},
		{name: "protocolApplied strings",
			in: `{"resourceType":"Immunization","protocolApplied":[{"series":"Jane's catch-up","doseNumberString":"second, after Jane moved",
				"seriesDosesString":"three","doseNumberPositiveInt":2}]}`,
			want: `{"resourceType":"Immunization","protocolApplied":[{"doseNumberPositiveInt":2}]}`},
		{name: "an identifier kept only because another one has an allowed system",
			in: `{"resourceType":"Practitioner","identifier":[{"system":"http://hospital/mrn","value":"MRN-4471"},
				{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}]}`,
			want: `{"resourceType":"Practitioner","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}]}`},
	})
}
