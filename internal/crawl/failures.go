package crawl

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
)

// failureLog lists what could not be crawled in a tab-separated file in the export folder (it
// holds patient ids and the servers' own messages, so it stays with the export's PHI): kind
// (patient or identifier), the id or value, the reason, the full error. Only counts by reason
// are ever printed.
type failureLog struct {
	path     string
	f        *os.File
	w        *bufio.Writer
	n        int
	byReason map[string]int
}

// openFailures starts the list at path afresh.
func openFailures(path string) (*failureLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("kind\tid\treason\tdetail\n")
	return &failureLog{path: path, f: f, w: w, byReason: map[string]int{}}, nil
}

// add lists one failure.
func (l *failureLog) add(kind, id, why string, err error) error {
	detail := ""
	if err != nil {
		detail = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(err.Error())
	}
	l.n++
	l.byReason[why]++
	if _, werr := fmt.Fprintf(l.w, "%s\t%s\t%s\t%s\n", kind, id, why, detail); werr != nil {
		return fmt.Errorf("writing %s: %w", l.path, werr)
	}
	return nil
}

func (l *failureLog) count() int { return l.n }

// summary counts the failures by reason: "3 × HTTP 500, 1 × network error".
func (l *failureLog) summary() string {
	var parts []string
	for _, why := range sortedKeys(l.byReason) {
		parts = append(parts, fmt.Sprintf("%d × %s", l.byReason[why], why))
	}
	return strings.Join(parts, ", ")
}

// close writes the list out durably, or removes it when nothing failed.
func (l *failureLog) close() error {
	err := errors.Join(l.w.Flush(), l.f.Sync(), l.f.Close())
	if l.n == 0 {
		err = errors.Join(err, os.Remove(l.path))
	}
	return err
}
