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

// serverErrors reads the downloaded error/OperationOutcome files (MF-20, EC-32, EC-33) through
// ServerMessages: issues with severity fatal or error make the export fail with
// ErrServerReportedErrors; the others are printed and returned in Result.Messages.
func (r *run) serverErrors() error {
	messages, err := ServerMessages(r.opts.Dir, r.errJobs)
	r.result.Messages = messages
	if len(messages) > 0 {
		r.progress.Info("Messages from server:\n - " + strings.Join(messages, "\n - ") + "\n" +
			outcome.TextWithheld(filepath.Join(r.opts.Dir, "error")))
	}
	return err
}

// ServerMessages reads the OperationOutcome files names (relative to dir) and tallies their
// issues by severity, code and file with no free text (outcome.Summary), since the messages'
// text can quote patient data: the groups of other severities come back as messages, and those
// of severity fatal or error as an error wrapping ErrServerReportedErrors.
func ServerMessages(dir string, names []string) (messages []string, err error) {
	names = append([]string(nil), names...)
	sort.Strings(names)
	var sum outcome.Summary
	for _, name := range names {
		if err := readOutcomes(dir, name, &sum); err != nil {
			return nil, err
		}
	}
	fatal, other := sum.Groups()
	for _, g := range other {
		messages = append(messages, g.String())
	}
	if len(fatal) > 0 {
		lines := make([]string, len(fatal))
		for i, g := range fatal {
			lines[i] = g.String()
		}
		return messages, fmt.Errorf("%w:\n - %s\n%s", ErrServerReportedErrors, strings.Join(lines, "\n - "),
			outcome.TextWithheld(filepath.Join(dir, "error")))
	}
	return messages, nil
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
