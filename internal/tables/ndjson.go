package tables

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/store"
)

// NDJSON writes each table as OUTPUT/<table>/<table>.NNN.ndjson with at most BatchSize rows per
// file, the layout Cumulus ETL's ndjson format uses.
type NDJSON struct {
	Root      string
	BatchSize int
}

var _ Format = (*NDJSON)(nil)

// Name implements Format.
func (f *NDJSON) Name() string { return "ndjson" }

// Create implements Format. Rows go to a hidden staging folder beside the table, which Commit
// swaps in place of the old table folder in one rename.
func (f *NDJSON) Create(table string) (Writer, error) {
	if f.BatchSize <= 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", f.BatchSize)
	}
	final := filepath.Join(f.Root, table)
	if err := store.RecoverDir(final); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(f.Root, 0o755); err != nil {
		return nil, err
	}
	staging, err := store.MkdirStaging(final)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return nil, err
	}
	return &ndjsonWriter{table: table, final: final, staging: staging, batchSize: f.BatchSize}, nil
}

// ReadRows implements Format.
func (f *NDJSON) ReadRows(table string, fn func(row []byte) error) error {
	dir := filepath.Join(f.Root, table)
	if err := store.RecoverDir(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".ndjson") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := readFileRows(filepath.Join(dir, name), fn); err != nil {
			return err
		}
	}
	return nil
}

func readFileRows(path string, fn func(row []byte) error) error {
	r, err := ndjson.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := fn(r.Line()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, r.LineNumber(), err)
		}
	}
	return r.Err()
}

type ndjsonWriter struct {
	table, final, staging string
	batchSize             int
	file                  *store.AtomicFile
	fileRows              []int // rows in each file written so far; the last one is open
	rows                  int64
	done                  bool
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
	f, err := store.CreateAtomic(w.filePath(len(w.fileRows)), 0o644)
	if err != nil {
		return err
	}
	w.file = f
	w.fileRows = append(w.fileRows, 0)
	return nil
}

func (w *ndjsonWriter) filePath(i int) string {
	return filepath.Join(w.staging, fmt.Sprintf("%s.%03d.ndjson", w.table, i))
}

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
	out, err := store.CreateAtomic(w.filePath(i), 0o644)
	if err != nil {
		return 0, err
	}
	defer out.Abort()
	kept := 0
	pos := first
	err = readFileRows(w.filePath(i), func(row []byte) error {
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
	if err := store.ReplaceDir(w.staging, w.final); err != nil {
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
		if err := os.Remove(w.filePath(i)); err != nil {
			return err
		}
	}
	w.fileRows = []int{0}
	f, err := store.CreateAtomic(w.filePath(0), 0o644)
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
	return os.RemoveAll(w.staging)
}

func (w *ndjsonWriter) Rows() int64 { return w.rows }
