// Package outcome reads FHIR OperationOutcome resources, the messages servers send about errors
// (in HTTP error bodies and in a bulk export's error files).
package outcome

import "encoding/json"

// OperationOutcome is the part of a FHIR OperationOutcome that callers read.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string `json:"severity"` // fatal, error, warning or information
	Code        string `json:"code"`     // an IssueType code such as "processing" or "transient"
	Diagnostics string `json:"diagnostics"`
	Details     struct {
		Text string `json:"text"`
	} `json:"details"`
}

// Parse decodes body and reports whether it is an OperationOutcome.
func Parse(body []byte) (*OperationOutcome, bool) {
	var oo OperationOutcome
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return nil, false
	}
	return &oo, true
}

// Text is the issue's message: diagnostics, else details.text, else the code (Cumulus ETL's order).
func (i Issue) Text() string {
	switch {
	case i.Diagnostics != "":
		return i.Diagnostics
	case i.Details.Text != "":
		return i.Details.Text
	}
	return i.Code
}

// Fatal reports whether the issue's severity is fatal or error.
func (i Issue) Fatal() bool { return i.Severity == "fatal" || i.Severity == "error" }

// Texts splits the issues' messages into fatal ones (fatal or error) and the others.
func (o OperationOutcome) Texts() (fatal, other []string) {
	for _, is := range o.Issue {
		if is.Fatal() {
			fatal = append(fatal, is.Text())
		} else {
			other = append(other, is.Text())
		}
	}
	return fatal, other
}
