package bulk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cumulus-etl/internal/outcome"
)

// serverErrors reads the downloaded error/OperationOutcome files (MF-20, EC-32, EC-33): issues
// with severity fatal or error make the export fail with ErrServerReportedErrors; the others are
// printed and returned in Result.Messages. Both are tallied by severity, code and file with no
// free text (outcome.Summary): the messages' text can quote patient data.
func (r *run) serverErrors() error {
	names := append([]string(nil), r.errJobs...)
	sort.Strings(names)
	var sum outcome.Summary
	for _, name := range names {
		if err := readOutcomes(r.opts.Dir, name, &sum); err != nil {
			return err
		}
	}
	fatal, other := sum.Groups()
	withheld := outcome.TextWithheld(filepath.Join(r.opts.Dir, "error"))
	for _, g := range other {
		r.result.Messages = append(r.result.Messages, g.String())
	}
	if len(other) > 0 {
		r.progress.Info("Messages from server:\n - " + strings.Join(r.result.Messages, "\n - ") + "\n" + withheld)
	}
	if len(fatal) > 0 {
		lines := make([]string, len(fatal))
		for i, g := range fatal {
			lines[i] = g.String()
		}
		return fmt.Errorf("%w:\n - %s\n%s", ErrServerReportedErrors, strings.Join(lines, "\n - "), withheld)
	}
	return nil
}

// readOutcomes streams one ndjson file of OperationOutcomes (name, under dir) into sum.
func readOutcomes(dir, name string, sum *outcome.Summary) error {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading server messages: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for n := 1; ; n++ {
		var oo outcome.OperationOutcome
		err := dec.Decode(&oo)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading server messages from %s, resource %d: %w", path, n, err)
		}
		for _, is := range oo.Issue {
			sum.Add(name, n, is)
		}
	}
}
