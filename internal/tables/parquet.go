package tables

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"

	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables/parquetfile"
)

// Parquet writes each table as OUTPUT/<table>/<table>.NNN.parquet, BatchSize rows per file, with
// columns typed from FHIR R4 (the same columns in every file of a run), replaced whole each run
// as ndjson is.
type Parquet struct {
	Store     store.Store
	BatchSize int
	TempDir   string // where rows wait until the table is written; "" for the system default
}

var _ Format = (*Parquet)(nil)

// Name implements Format.
func (f *Parquet) Name() string { return "parquet" }

// Create implements Format.
func (f *Parquet) Create(ctx context.Context, table string, spec Spec) (Writer, error) {
	if f.BatchSize <= 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", f.BatchSize)
	}
	s, err := spec.newSchema(table)
	if err != nil {
		return nil, err
	}
	sp, err := newSpill(f.TempDir, table, s)
	if err != nil {
		return nil, err
	}
	stage, err := f.Store.Stage(ctx, table)
	if err != nil {
		sp.close()
		return nil, err
	}
	return &parquetWriter{spill: sp, f: f, table: table, stage: stage}, nil
}

var parquetBatch = regexp.MustCompile(`^\.[0-9]{3,}\.parquet$`)

func isParquetFile(table, name string) bool {
	return len(name) > len(table) && name[:len(table)] == table && parquetBatch.MatchString(name[len(table):])
}

// ReadRows implements Format.
func (f *Parquet) ReadRows(ctx context.Context, table string, fn func(row []byte) error) error {
	files, err := f.Store.ReadDir(ctx, table)
	if err != nil {
		return err
	}
	for _, file := range files {
		if !isParquetFile(table, path.Base(file.Name)) {
			continue
		}
		if err := readParquet(ctx, f.Store, file.Name, f.TempDir, fn); err != nil {
			return err
		}
	}
	return nil
}

// readParquet reads one Parquet file of a store as JSON rows, through a local copy.
func readParquet(ctx context.Context, st store.Store, name, tempDir string, fn func(row []byte) error) error {
	rc, err := st.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(tempDir, "cumulus-etl-read-*.parquet")
	if err != nil {
		return err
	}
	defer tmp.Close()
	os.Remove(tmp.Name())
	size, err := io.Copy(tmp, rc)
	if err != nil {
		return fmt.Errorf("reading %s: %w", st.Location(name), err)
	}
	pf, err := parquetfile.Open(tmp, size)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Location(name), err)
	}
	if err := pf.ReadRows(fn); err != nil {
		return fmt.Errorf("%s: %w", st.Location(name), err)
	}
	return nil
}

// ForeignFiles implements Format: anything but <table>.NNN.parquet.
func (f *Parquet) ForeignFiles(ctx context.Context, table string) ([]string, error) {
	var foreign []string
	err := f.Store.List(ctx, table, func(info store.Info) error {
		rel := info.Name[len(table)+1:]
		if !isParquetFile(table, rel) && !store.IsTemp(path.Base(rel)) {
			foreign = append(foreign, f.Store.Location(info.Name))
		}
		return nil
	})
	return foreign, err
}

type parquetWriter struct {
	*spill
	f     *Parquet
	table string
	stage store.Stage
	done  bool
}

// Commit implements Writer: the rows go to BatchSize-row files with the table's columns, then the
// folder is replaced. An empty table is one file with no rows (its columns still there).
func (w *parquetWriter) Commit() error {
	var out store.Writer
	var pw *parquetfile.Writer
	files, inFile := 0, 0
	closeFile := func() error {
		if pw == nil {
			return nil
		}
		_, err := pw.Close()
		if err == nil {
			err = out.Commit()
		}
		pw = nil
		return err
	}
	open := func() error {
		var err error
		if out, err = w.stage.Create(fmt.Sprintf("%s.%03d.parquet", w.table, files)); err != nil {
			return err
		}
		files++
		inFile = 0
		pw, err = parquetfile.New(out, w.schema.Root(), parquetfile.Options{})
		return err
	}
	err := w.each(func(row []byte) error {
		if pw == nil || inFile >= w.f.BatchSize {
			if err := closeFile(); err != nil {
				return err
			}
			if err := open(); err != nil {
				return err
			}
		}
		inFile++
		return pw.Write(row)
	})
	if err == nil && files == 0 {
		err = open()
	}
	if err == nil {
		err = closeFile()
	}
	if err != nil {
		if out != nil {
			out.Abort()
		}
		return fmt.Errorf("writing table %s: %w", w.table, err)
	}
	if err := w.stage.Publish(); err != nil {
		return fmt.Errorf("replacing table %s: %w", w.table, err)
	}
	w.done = true
	w.close()
	return nil
}

// Abort implements Writer.
func (w *parquetWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.close()
	return w.stage.Discard()
}
