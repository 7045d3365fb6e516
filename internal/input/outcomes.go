package input

import (
	"context"

	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/outcome"
)

// ReadOutcomes reads the OperationOutcome lines of an export's error files and tallies their
// issues by severity, code and file (see outcome.Summary: no free text is kept). A line that is
// not an OperationOutcome with at least one issue is an error naming file:line.
func ReadOutcomes(ctx context.Context, files []File) (*outcome.Summary, error) {
	var sum outcome.Summary
	err := eachObject(ctx, files, stopAtFirst, func(r *ndjson.Reader, oo *outcome.OperationOutcome) error {
		if oo.ResourceType != "OperationOutcome" {
			return r.Errorf("expected an OperationOutcome, found resourceType %q", oo.ResourceType)
		}
		if len(oo.Issue) == 0 {
			return r.Errorf("OperationOutcome has no issue")
		}
		for _, is := range oo.Issue {
			sum.Add(r.Name(), r.LineNumber(), is)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sum, nil
}
