package redact

import (
	"strings"
	"testing"
)

// TestSignatureLikeParametersAreRedacted (issue 13 item 8, DL-04): signed-URL and token
// parameters, and search parameters that name a patient, lose their values; the rest of the URL
// is kept as it was.
func TestSignatureLikeParametersAreRedacted(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://s3.example/b/p.ndjson?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20300101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abcd1234&part=1",
			"https://s3.example/b/p.ndjson?X-Amz-Algorithm=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&part=1"},
		{"https://gcs.example/o?X-Goog-Signature=ff&GoogleAccessId=x", "https://gcs.example/o?X-Goog-Signature=REDACTED&GoogleAccessId=x"},
		{"https://blob.example/c/f?sv=2020&sig=S3cr3t%3D&se=2030", "https://blob.example/c/f?sv=2020&sig=REDACTED&se=2030"},
		{"https://cdn.example/f?Policy=p&Signature=s&Key-Pair-Id=k", "https://cdn.example/f?Policy=REDACTED&Signature=REDACTED&Key-Pair-Id=REDACTED"},
		{"https://ehr.example/f?access_token=t0k&code=c0de&_type=Patient", "https://ehr.example/f?access_token=REDACTED&code=REDACTED&_type=Patient"},
		{"https://user:pw@ehr.example/fhir", "https://user:REDACTED@ehr.example/fhir"},
		{"https://ehr.example/fhir/Group/1/$export?_type=Patient,Condition", "https://ehr.example/fhir/Group/1/$export?_type=Patient,Condition"},
		{"::not a url?token=x", "::not a url?REDACTED"},
		// issue 14: a crawl's searches name patients (ids, MRNs): PHI stays out of messages too.
		{"https://ehr.example/fhir/Observation?patient=p123&category=laboratory&_count=500",
			"https://ehr.example/fhir/Observation?patient=REDACTED&category=laboratory&_count=500"},
		{"https://ehr.example/fhir/Patient?identifier=urn%3Amrn%7CMRN-1&_id=x&subject:Patient=y&patient.identifier=z",
			"https://ehr.example/fhir/Patient?identifier=REDACTED&_id=REDACTED&subject:Patient=REDACTED&patient.identifier=REDACTED"},
	}
	for _, tc := range cases {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestSecretsEchoedInBodiesAreRedacted: an error body that quotes the signature or the access
// key id of the request's URL does not carry them into a message.
func TestSecretsEchoedInBodiesAreRedacted(t *testing.T) {
	u := "https://s3.example/b/p?X-Amz-Credential=AKIAEXAMPLE%2F20300101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abcd1234ef"
	body := "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId><SignatureProvided>abcd1234ef</SignatureProvided></Error>"
	got := Secrets(body, u)
	if strings.Contains(got, "AKIAEXAMPLE") || strings.Contains(got, "abcd1234ef") || !strings.Contains(got, "SignatureDoesNotMatch") {
		t.Errorf("Secrets = %s", got)
	}
}
