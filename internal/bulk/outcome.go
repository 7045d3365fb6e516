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
// printed and returned in Result.Messages.
func (r *run) serverErrors() error {
	names := append([]string(nil), r.errJobs...)
	sort.Strings(names)
	var fatal []string
	for _, name := range names {
		f, other, err := readOutcomes(filepath.Join(r.opts.Dir, name))
		if err != nil {
			return err
		}
		fatal = append(fatal, f...)
		r.result.Messages = append(r.result.Messages, other...)
	}
	if len(r.result.Messages) > 0 {
		r.progress.Info("Messages from server:\n - " + strings.Join(r.result.Messages, "\n - "))
	}
	if len(fatal) > 0 {
		return fmt.Errorf("%w:\n - %s", ErrServerReportedErrors, strings.Join(fatal, "\n - "))
	}
	return nil
}

// readOutcomes streams one ndjson file of OperationOutcomes.
func readOutcomes(path string) (fatal, other []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading server messages: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for n := 1; ; n++ {
		var oo outcome.OperationOutcome
		err := dec.Decode(&oo)
		if errors.Is(err, io.EOF) {
			return fatal, other, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading server messages from %s, resource %d: %w", path, n, err)
		}
		fa, ot := oo.Texts()
		fatal, other = append(fatal, fa...), append(other, ot...)
	}
}
