package input

import (
	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/outcome"
)

// Outcome is one issue of an OperationOutcome from an error/ file.
type Outcome struct {
	File     string
	Line     int
	Severity string // fatal, error, warning or information
	Code     string
	Text     string // diagnostics, else details.text, else code
}

// Fatal reports whether the issue's severity is fatal or error.
func (o Outcome) Fatal() bool { return o.Severity == "fatal" || o.Severity == "error" }

// ReadOutcomes reads OperationOutcome lines and returns one Outcome per issue,
// in file and line order. A line that is not an OperationOutcome with at
// least one issue is an error naming file:line.
func ReadOutcomes(files []File) ([]Outcome, error) {
	var outcomes []Outcome
	err := eachObject(files, func(r *ndjson.Reader, oo *outcome.OperationOutcome) error {
		if oo.ResourceType != "OperationOutcome" {
			return r.Errorf("expected an OperationOutcome, found resourceType %q", oo.ResourceType)
		}
		if len(oo.Issue) == 0 {
			return r.Errorf("OperationOutcome has no issue")
		}
		for _, is := range oo.Issue {
			outcomes = append(outcomes, Outcome{File: r.Name(), Line: r.LineNumber(),
				Severity: is.Severity, Code: is.Code, Text: is.Text()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outcomes, nil
}
