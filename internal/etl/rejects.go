package etl

import (
	"fmt"
	"os"
	"path/filepath"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/store"
)

// rejectLog keeps every rejected input row for --errors-to DIR, as DIR/<task>/rejected.ndjson (the
// raw rows, which hold PHI: keep DIR with the PHI folder) and DIR/<task>/rejected-reasons.ndjson
// (one {"file","line","error"} object per row, same order).
type rejectLog struct {
	dir     string // "" when --errors-to was not given
	rows    *store.AtomicFile
	reasons *store.AtomicFile
}

func newRejectLog(errorsTo, task string) *rejectLog {
	if errorsTo == "" {
		return &rejectLog{}
	}
	return &rejectLog{dir: filepath.Join(errorsTo, task)}
}

func (l *rejectLog) keepsRaw() bool { return l.dir != "" }

func (l *rejectLog) add(r rowResult) error {
	if l.dir == "" {
		return nil
	}
	if l.rows == nil {
		if err := l.open(); err != nil {
			return err
		}
	}
	reason, err := json.Marshal(map[string]any{"file": r.file, "line": r.line, "error": r.err.Error()})
	if err != nil {
		return err
	}
	for _, w := range []struct {
		f    *store.AtomicFile
		data []byte
	}{{l.rows, r.raw}, {l.reasons, reason}} {
		if _, err := w.f.Write(append(w.data, '\n')); err != nil {
			return fmt.Errorf("writing to --errors-to folder: %w", err)
		}
	}
	return nil
}

func (l *rejectLog) open() error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return fmt.Errorf("creating --errors-to folder: %w", err)
	}
	var err error
	if l.rows, err = store.CreateAtomic(filepath.Join(l.dir, "rejected.ndjson"), 0o600); err != nil {
		return err
	}
	l.reasons, err = store.CreateAtomic(filepath.Join(l.dir, "rejected-reasons.ndjson"), 0o600)
	return err
}

// close commits the files written so far, also after a failed task: a partial list of rejected
// rows is more useful than none.
func (l *rejectLog) close() error {
	var firstErr error
	for _, f := range []*store.AtomicFile{l.rows, l.reasons} {
		if f == nil {
			continue
		}
		if err := f.Commit(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
