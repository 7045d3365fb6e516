package tables

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables/delta"
)

// Delta writes each table as a Delta Lake table in OUTPUT/<table>/ (reader 1 / writer 2), the
// default format, as in Cumulus ETL: each run upserts its rows by id into the table, removes the
// ids the export lists as deleted, and keeps the rows it does not mention. At the end of a run
// small files are compacted and files removed more than Retention ago are vacuumed.
type Delta struct {
	Store     store.Store
	BatchSize int           // rows per data file
	TempDir   string        // where rows and id spills wait; "" for the system default
	Retention time.Duration // vacuum age; 0 means the table's own (7 days unless set)
	Now       func() time.Time
	Engine    string // commitInfo engineInfo, e.g. "cumulus-etl/1.2.3"
}

var _ Format = (*Delta)(nil)

// Name implements Format.
func (f *Delta) Name() string { return "deltalake" }

func (f *Delta) storage() delta.Storage { return deltaStorage{f.Store} }

func (f *Delta) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Create implements Format. It reads the table's log and refuses a table it cannot write
// correctly before any row is written.
func (f *Delta) Create(ctx context.Context, table string, spec Spec) (Writer, error) {
	if f.BatchSize <= 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", f.BatchSize)
	}
	t, err := delta.OpenTable(ctx, f.storage(), table)
	if err != nil {
		return nil, fmt.Errorf("reading Delta table %s: %w", table, err)
	}
	if err := t.CheckWritable(); err != nil {
		return nil, fmt.Errorf("%w: %w\n%s", ErrUnsupportedTable, err, unsupportedAdvice)
	}
	s, err := spec.newSchema(table)
	if err != nil {
		return nil, err
	}
	if existing, err := t.Columns(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedTable, err)
	} else if existing != nil {
		if err := s.Merge(existing); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnsupportedTable, f.Store.Location(table), err)
		}
	}
	sp, err := newSpill(f.TempDir, table, s)
	if err != nil {
		return nil, err
	}
	return &deltaWriter{spill: sp, f: f, ctx: ctx, table: table, t: t, spec: spec}, nil
}

// CheckTable refuses, with ErrUnsupportedTable and a message that says what to do, an existing
// table this format cannot write correctly: one with Delta features it does not write (Cumulus
// ETL's own Spark tables use deletion vectors, row tracking and liquid clustering) or columns
// that are not the FHIR R4 types of its resource.
func (f *Delta) CheckTable(ctx context.Context, table string) error {
	t, err := delta.OpenTable(ctx, f.storage(), table)
	if err != nil {
		return fmt.Errorf("reading Delta table %s: %w", table, err)
	}
	if err := t.CheckWritable(); err != nil {
		return fmt.Errorf("%w: %w\n%s", ErrUnsupportedTable, err, unsupportedAdvice)
	}
	_, err = t.Columns()
	if err != nil {
		return fmt.Errorf("%w: %w\n%s", ErrUnsupportedTable, err, unsupportedAdvice)
	}
	return nil
}

// unsupportedAdvice says what to do about a table we refuse to write into.
const unsupportedAdvice = "Nothing was written. Write to a new OUTPUT folder (Athena/Glue can point at it instead), " +
	"or move this table's folder aside to have cumulus-etl create it anew from the next full export."

// ReadRows implements Format.
func (f *Delta) ReadRows(ctx context.Context, table string, fn func(row []byte) error) error {
	t, err := delta.OpenTable(ctx, f.storage(), table)
	if err != nil {
		return err
	}
	return t.ReadRows(ctx, f.TempDir, fn)
}

// ForeignFiles implements Format: anything but the log, data files and a symlink manifest.
func (f *Delta) ForeignFiles(ctx context.Context, table string) ([]string, error) {
	var foreign []string
	err := f.Store.List(ctx, table, func(info store.Info) error {
		rel := info.Name[len(table)+1:]
		switch {
		case strings.HasPrefix(rel, "_delta_log/"), strings.HasPrefix(rel, "_symlink_format_manifest/"),
			delta.IsDataFile(rel), store.IsTemp(path.Base(rel)):
		default:
			foreign = append(foreign, f.Store.Location(info.Name))
		}
		return nil
	})
	return foreign, err
}

type deltaWriter struct {
	*spill
	f     *Delta
	ctx   context.Context
	table string
	t     *delta.Table
	spec  Spec
	done  bool
}

// Commit implements Writer: one commit with this run's rows (see Delta), then compaction and
// vacuum.
func (w *deltaWriter) Commit() error {
	defer w.close()
	w.done = true
	now := w.f.now()
	opts := delta.WriteOptions{Replace: w.spec.Replace, Columns: w.schema.Root(), RowsPerFile: w.f.BatchSize,
		TempDir: w.f.TempDir, Now: now, EngineInfo: w.f.Engine}
	if len(w.spec.Deleted) > 0 {
		opts.Deleted = func(fn func([]byte) error) error {
			for id := range w.spec.Deleted {
				if err := fn([]byte(id)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if _, err := w.t.Write(w.ctx, w.each, opts); err != nil {
		return fmt.Errorf("writing Delta table %s: %w", w.table, err)
	}
	if _, err := w.t.Optimize(w.ctx, opts); err != nil {
		return fmt.Errorf("compacting Delta table %s: %w", w.table, err)
	}
	if _, err := w.t.Vacuum(w.ctx, now, w.f.Retention); err != nil {
		return fmt.Errorf("vacuuming Delta table %s: %w", w.table, err)
	}
	return nil
}

// Abort implements Writer: nothing was committed, so the table is as it was.
func (w *deltaWriter) Abort() error {
	if !w.done {
		w.done = true
		w.close()
	}
	return nil
}

// deltaStorage gives a store to the Delta log code.
type deltaStorage struct{ s store.Store }

func (d deltaStorage) List(ctx context.Context, dir string, fn func(string, int64, time.Time) error) error {
	return d.s.List(ctx, dir, func(i store.Info) error { return fn(i.Name, i.Size, i.ModTime) })
}

func (d deltaStorage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return d.s.Open(ctx, name)
}

func (d deltaStorage) Create(ctx context.Context, name string, ifAbsent bool) (delta.ObjectWriter, error) {
	return d.s.Create(ctx, name, store.CreateOptions{IfAbsent: ifAbsent})
}

func (d deltaStorage) Delete(ctx context.Context, name string) error { return d.s.Delete(ctx, name) }

func (d deltaStorage) Location(name string) string { return d.s.Location(name) }

// LiveFiles returns the store names of the table's live data files: what a reader without a
// Delta client (DuckDB's read_parquet, say) should read.
func (f *Delta) LiveFiles(ctx context.Context, table string) ([]string, error) {
	t, err := delta.OpenTable(ctx, f.storage(), table)
	if err != nil || t.Snapshot() == nil {
		return nil, err
	}
	return t.LiveFiles()
}
