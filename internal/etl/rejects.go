package etl

import (
	"context"
	"fmt"
	"path"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/store"
)

// rejectLog keeps every rejected input row for --errors-to DIR, as DIR/<task>/rejected.ndjson (the
// raw rows, which hold PHI: keep DIR with the PHI folder) and DIR/<task>/rejected-reasons.ndjson
// (one {"file","line","error"} object per row, same order).
type rejectLog struct {
	ctx     context.Context
	s       store.Store // nil when --errors-to was not given
	dir     string
	rows    store.Writer
	reasons store.Writer
}

func newRejectLog(ctx context.Context, errorsTo store.Store, task string) *rejectLog {
	return &rejectLog{ctx: ctx, s: errorsTo, dir: task}
}

func (l *rejectLog) keepsRaw() bool { return l.s != nil }

func (l *rejectLog) add(r rowResult) error {
	if l.s == nil {
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
		f    store.Writer
		data []byte
	}{{l.rows, r.raw}, {l.reasons, reason}} {
		if _, err := w.f.Write(append(w.data, '\n')); err != nil {
			return fmt.Errorf("writing to --errors-to folder: %w", err)
		}
	}
	return nil
}

func (l *rejectLog) open() error {
	var err error
	if l.rows, err = l.s.Create(l.ctx, path.Join(l.dir, "rejected.ndjson"), store.CreateOptions{}); err != nil {
		return fmt.Errorf("writing to --errors-to folder: %w", err)
	}
	if l.reasons, err = l.s.Create(l.ctx, path.Join(l.dir, "rejected-reasons.ndjson"), store.CreateOptions{}); err != nil {
		return fmt.Errorf("writing to --errors-to folder: %w", err)
	}
	return nil
}

// close commits the files written so far, also after a failed task: a partial list of rejected
// rows is more useful than none.
func (l *rejectLog) close() error {
	var firstErr error
	for _, f := range []store.Writer{l.rows, l.reasons} {
		if f == nil {
			continue
		}
		if err := f.Commit(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
