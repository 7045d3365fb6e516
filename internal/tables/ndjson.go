package tables

import (
	"context"
	"fmt"
	"io"
	"path"
	"regexp"

	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/store"
)

// NDJSON writes each table as OUTPUT/<table>/<table>.NNN.ndjson with at most BatchSize rows per
// file, the layout Cumulus ETL's ndjson format uses.
type NDJSON struct {
	Store     store.Store
	BatchSize int
}

var _ Format = (*NDJSON)(nil)

// Name implements Format.
func (f *NDJSON) Name() string { return "ndjson" }

// Create implements Format. Rows go to a staged new version of the table folder, which Commit
// publishes in place of the old one (store.Stage).
func (f *NDJSON) Create(ctx context.Context, table string, _ Spec) (Writer, error) {
	if f.BatchSize <= 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", f.BatchSize)
	}
	stage, err := f.Store.Stage(ctx, table)
	if err != nil {
		return nil, err
	}
	return &ndjsonWriter{table: table, stage: stage, batchSize: f.BatchSize}, nil
}

// ReadRows implements Format.
func (f *NDJSON) ReadRows(ctx context.Context, table string, fn func(row []byte) error) error {
	files, err := f.Store.ReadDir(ctx, table)
	if err != nil {
		return err
	}
	for _, file := range files {
		if !isNDJSONFile(table, path.Base(file.Name)) {
			continue
		}
		rc, err := f.Store.Open(ctx, file.Name)
		if err != nil {
			return err
		}
		if err := readRows(rc, f.Store.Location(file.Name), fn); err != nil {
			return err
		}
	}
	return nil
}

// ForeignFiles implements Format: anything but <table>.NNN.ndjson.
func (f *NDJSON) ForeignFiles(ctx context.Context, table string) ([]string, error) {
	var foreign []string
	err := f.Store.List(ctx, table, func(info store.Info) error {
		rel := info.Name[len(table)+1:]
		if !isNDJSONFile(table, rel) && !store.IsTemp(path.Base(rel)) {
			foreign = append(foreign, f.Store.Location(info.Name))
		}
		return nil
	})
	return foreign, err
}

var batchNumber = regexp.MustCompile(`^\.[0-9]{3,}\.ndjson$`)

// isNDJSONFile reports whether name (relative to the table's folder) is one of our table files.
func isNDJSONFile(table, name string) bool {
	return len(name) > len(table) && name[:len(table)] == table && batchNumber.MatchString(name[len(table):])
}

// readRows calls fn with each line of the ndjson stream rc (closed afterwards), named name in errors.
func readRows(rc io.ReadCloser, name string, fn func(row []byte) error) error {
	r, err := ndjson.NewReadCloser(rc, name)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := fn(r.Line()); err != nil {
			return fmt.Errorf("%s:%d: %w", name, r.LineNumber(), err)
		}
	}
	return r.Err()
}

type ndjsonWriter struct {
	table     string
	stage     store.Stage
	batchSize int
	file      store.Writer
	fileRows  []int // rows in each file written so far; the last one is open
	rows      int64
	done      bool
}

func (w *ndjsonWriter) WriteRow(row []byte) error {
	if w.file == nil || w.fileRows[len(w.fileRows)-1] >= w.batchSize {
		if err := w.rollFile(); err != nil {
			return err
		}
	}
	if _, err := w.file.Write(row); err != nil {
		return err
	}
	if _, err := w.file.Write([]byte{'\n'}); err != nil {
		return err
	}
	w.fileRows[len(w.fileRows)-1]++
	w.rows++
	return nil
}

func (w *ndjsonWriter) rollFile() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	f, err := w.stage.Create(w.fileName(len(w.fileRows)))
	if err != nil {
		return err
	}
	w.file = f
	w.fileRows = append(w.fileRows, 0)
	return nil
}

func (w *ndjsonWriter) fileName(i int) string { return fmt.Sprintf("%s.%03d.ndjson", w.table, i) }

// Drop rewrites the files that hold dropped rows; files keep their names, so some hold fewer than
// BatchSize rows afterwards.
func (w *ndjsonWriter) Drop(drop func(row int64) bool) error {
	if err := w.closeFile(); err != nil {
		return err
	}
	var first int64
	for i, n := range w.fileRows {
		kept, err := w.dropFromFile(i, first, n, drop)
		if err != nil {
			return err
		}
		w.rows -= int64(n - kept)
		w.fileRows[i] = kept
		first += int64(n)
	}
	return nil
}

// dropFromFile rewrites file i, whose rows are positions [first, first+n), without the dropped
// rows, and returns how many it kept. A file with nothing to drop is left alone.
func (w *ndjsonWriter) dropFromFile(i int, first int64, n int, drop func(row int64) bool) (int, error) {
	touched := false
	for pos := first; pos < first+int64(n); pos++ {
		touched = touched || drop(pos)
	}
	if !touched {
		return n, nil
	}
	rc, err := w.stage.Open(w.fileName(i))
	if err != nil {
		return 0, err
	}
	out, err := w.stage.Create(w.fileName(i))
	if err != nil {
		rc.Close()
		return 0, err
	}
	defer out.Abort()
	kept := 0
	pos := first
	err = readRows(rc, w.fileName(i), func(row []byte) error {
		defer func() { pos++ }()
		if drop(pos) {
			return nil
		}
		kept++
		if _, err := out.Write(row); err != nil {
			return err
		}
		_, err := out.Write([]byte{'\n'})
		return err
	})
	if err != nil {
		return 0, err
	}
	return kept, out.Commit()
}

func (w *ndjsonWriter) closeFile() error {
	if w.file == nil {
		return nil
	}
	err := w.file.Commit()
	w.file = nil
	return err
}

// Commit implements Writer. An empty table, whatever made it empty (an empty input file, every
// row deleted), is one empty <table>.000.ndjson: a folder holding no file would vanish on the way
// to object storage, where folders do not exist.
func (w *ndjsonWriter) Commit() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	if err := w.shapeEmptyTable(); err != nil {
		return err
	}
	if err := w.stage.Publish(); err != nil {
		return fmt.Errorf("replacing table %s: %w", w.table, err)
	}
	w.done = true
	return nil
}

// shapeEmptyTable makes a table without rows one empty first file, however many files Drop
// emptied. (Files that Drop empties in a table that keeps rows stay, under their names.)
func (w *ndjsonWriter) shapeEmptyTable() error {
	if w.rows > 0 {
		return nil
	}
	for i := range w.fileRows {
		if err := w.stage.Delete(w.fileName(i)); err != nil {
			return err
		}
	}
	w.fileRows = []int{0}
	f, err := w.stage.Create(w.fileName(0))
	if err != nil {
		return err
	}
	return f.Commit()
}

func (w *ndjsonWriter) Abort() error {
	if w.done {
		return nil
	}
	if w.file != nil {
		_ = w.file.Abort()
		w.file = nil
	}
	w.done = true
	return w.stage.Discard()
}

func (w *ndjsonWriter) Rows() int64 { return w.rows }
