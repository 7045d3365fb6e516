package deid

import "testing"

// Issue 11, research data we lost: items 8 and 9.

// Item 8: a reference we cannot de-identify is masked, and the resource is kept; the forms
// Cumulus hashes are hashed the same way.
func TestUndeidentifiableReferencesAreMaskedNotRejected(t *testing.T) {
	obs := func(ref string) string {
		return `{"resourceType":"Observation","status":"final","subject":` + ref + `}`
	}
	maskedRef := map[string]int{"Reference.reference: " + whyRefMasked: 1}
	none := map[string]int{}
	runScrubCases(t, []scrubCase{
		{name: "a search reference is hashed as Cumulus hashes it",
			in: obs(`{"reference":"Patient?identifier=MRN|4471"}`), want: obs(`{"reference":"Patient/FAKE(identifier=MRN|4471)"}`), dropped: none},
		{name: "an absolute URL with a type is masked",
			in:   obs(`{"reference":"https://ehr.example.org/fhir/Patient/JaneQuinn","type":"Patient","display":"Jane Quinn"}`),
			want: obs(`{"type":"Patient","_reference":` + masked + `}`), dropped: maskedRef},
		{name: "an absolute URL without a type is masked",
			in: obs(`{"reference":"https://ehr.example.org/fhir/Patient/JaneQuinn"}`), want: obs(`{"_reference":` + masked + `}`), dropped: maskedRef},
		{name: "a URN is masked",
			in: obs(`{"reference":"urn:uuid:6c5d9ca9-54d7-42f5-bfae-a7c19cd217f2"}`), want: obs(`{"_reference":` + masked + `}`), dropped: maskedRef},
		{name: "a bare id without a type is masked",
			in: obs(`{"reference":"JaneQuinn"}`), want: obs(`{"_reference":` + masked + `}`), dropped: maskedRef},
		{name: "the reference's own _reference is replaced by the mask",
			in:   obs(`{"_reference":{"extension":[{"url":"` + darURL + `","valueCode":"unknown"}]},"reference":"urn:uuid:1"}`),
			want: obs(`{"_reference":` + masked + `}`), dropped: maskedRef},
		{name: "a bare # (the containing resource) is hashed as Cumulus hashes it",
			in: obs(`{"reference":"#"}`), want: obs(`{"reference":"#FAKE()"}`), dropped: none},
		{name: "a path after the id is hashed with it, as Cumulus does",
			in: obs(`{"reference":"Patient/p1/extra"}`), want: obs(`{"reference":"Patient/FAKE(p1/extra)"}`), dropped: none},
		{name: "a lowercase type is kept as Cumulus keeps it",
			in: obs(`{"reference":"patient/p1"}`), want: obs(`{"reference":"patient/FAKE(p1)"}`), dropped: none},
		{name: "in a backbone element",
			in:      `{"resourceType":"Encounter","status":"finished","participant":[{"individual":{"reference":"http://x/Practitioner/1"}}]}`,
			want:    `{"resourceType":"Encounter","status":"finished","participant":[{"individual":{"_reference":` + masked + `}}]}`,
			dropped: maskedRef},
	})
}

// Item 9: US ZIP codes are restored and generalized to the ZIP3 form Cumulus writes; postal
// codes of other countries are dropped.
func TestZIPCodesAreRestoredAndGeneralised(t *testing.T) {
	address := func(fields string) string {
		return `{"resourceType":"Patient","address":[{"line":["1 Elm Street"],"city":"Boston",` + fields + `}]}`
	}
	want := func(fields string) string { return `{"resourceType":"Patient","address":[{` + fields + `}]}` }
	notZip := map[string]int{"Address.postalCode: " + whyNotZip: 1}
	foreign := map[string]int{"Address.postalCode: " + whyForeignPostal: 1}
	none := map[string]int{}
	runScrubCases(t, []scrubCase{
		{name: "five digits", in: address(`"state":"MA","postalCode":"02139"`), want: want(`"state":"MA","postalCode":"02100"`), dropped: none},
		{name: "ZIP+4", in: address(`"state":"MA","postalCode":"02139-4307"`), want: want(`"state":"MA","postalCode":"02100-0000"`), dropped: none},
		{name: "nine digits", in: address(`"postalCode":"021394307"`), want: want(`"postalCode":"021000000"`), dropped: none},
		{name: "four digits in the US", in: address(`"country":"US","postalCode":"1060"`), want: want(`"country":"US","postalCode":"01000"`), dropped: none},
		{name: "four digits, country in lower case", in: address(`"country":"usa","postalCode":"1060"`), want: want(`"country":"usa","postalCode":"01000"`), dropped: none},
		{name: "four digits in a US state", in: address(`"state":"MA","postalCode":"1060"`), want: want(`"state":"MA","postalCode":"01000"`), dropped: none},
		{name: "four digits in a US state by name", in: address(`"state":"Massachusetts","postalCode":"1060"`), want: want(`"state":"Massachusetts","postalCode":"01000"`), dropped: none},
		{name: "four digits ZIP+4 in the US", in: address(`"country":"US","postalCode":"2139-4307"`), want: want(`"country":"US","postalCode":"02100-0000"`), dropped: none},
		{name: "four digits, restricted ZIP3", in: address(`"state":"NH","postalCode":"3601"`), want: want(`"state":"NH","postalCode":"00000"`), dropped: none},
		{name: "restricted ZIP+4", in: address(`"state":"NH","postalCode":"03601-1234"`), want: want(`"state":"NH","postalCode":"00000-0000"`), dropped: none},
		{name: "four digits nowhere known", in: address(`"postalCode":"1060"`), want: `{"resourceType":"Patient"}`, dropped: notZip},
		{name: "four digits starting with 0", in: address(`"state":"MA","postalCode":"0213"`), want: want(`"state":"MA"`), dropped: notZip},
		{name: "a US territory", in: address(`"country":"PR","postalCode":"00601"`), want: want(`"country":"PR","postalCode":"00600"`), dropped: none},
		{name: "a British postcode", in: address(`"country":"GB","postalCode":"SW1A 1AA"`), want: want(`"country":"GB"`), dropped: foreign},
		{name: "five digits in France", in: address(`"country":"FR","postalCode":"75008"`), want: want(`"country":"FR"`), dropped: foreign},
		{name: "five digits in a state we do not know, as Cumulus", in: address(`"state":"Bavaria","postalCode":"80331"`), want: want(`"state":"Bavaria","postalCode":"80300"`), dropped: none},
	})
}
