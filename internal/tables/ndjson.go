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
	staging, err := os.MkdirTemp(f.Root, ".tmp-"+table+"-")
	if err != nil {
		return nil, fmt.Errorf("creating staging folder for table %s: %w", table, err)
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
	fileRows              int
	files                 int
	rows                  int64
	done                  bool
}

func (w *ndjsonWriter) WriteRow(row []byte) error {
	if w.file == nil || w.fileRows >= w.batchSize {
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
	w.fileRows++
	w.rows++
	return nil
}

func (w *ndjsonWriter) rollFile() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	name := fmt.Sprintf("%s.%03d.ndjson", w.table, w.files)
	f, err := store.CreateAtomic(filepath.Join(w.staging, name), 0o644)
	if err != nil {
		return err
	}
	w.file, w.fileRows = f, 0
	w.files++
	return nil
}

func (w *ndjsonWriter) closeFile() error {
	if w.file == nil {
		return nil
	}
	err := w.file.Commit()
	w.file = nil
	return err
}

func (w *ndjsonWriter) Commit() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	if err := store.ReplaceDir(w.staging, w.final); err != nil {
		return fmt.Errorf("replacing table %s: %w", w.table, err)
	}
	w.done = true
	return nil
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
