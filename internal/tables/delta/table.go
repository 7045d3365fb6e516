package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/google/uuid"

	"cumulus-etl/internal/schema"
	"cumulus-etl/internal/schema/jsonrow"
	"cumulus-etl/internal/tables/parquetfile"
)

// Table is one Delta table, as its log stood when it was opened.
type Table struct {
	st   Storage
	dir  string
	log  *Log
	snap *Snapshot // nil for a table that does not exist yet
}

// OpenTable reads the log of the table in folder dir, if there is one.
func OpenTable(ctx context.Context, st Storage, dir string) (*Table, error) {
	t := &Table{st: st, dir: dir, log: NewLog(st, dir)}
	ok, err := t.log.Exists(ctx)
	if err != nil || !ok {
		return t, err
	}
	if t.snap, err = t.log.Snapshot(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Snapshot returns the table's state, or nil if it does not exist yet.
func (t *Table) Snapshot() *Snapshot { return t.snap }

// Columns returns the existing table's columns, or nil for a new table.
func (t *Table) Columns() (*schema.Column, error) {
	if t.snap == nil {
		return nil, nil
	}
	c, err := ParseSchemaString(path.Base(t.dir), t.snap.Metadata.SchemaString)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.st.Location(t.dir), err)
	}
	return c, nil
}

// CheckWritable refuses a table this package cannot write correctly (see Snapshot.CheckWritable).
func (t *Table) CheckWritable() error {
	if t.snap == nil {
		return nil
	}
	if err := t.snap.CheckWritable(); err != nil {
		return fmt.Errorf("%s: %w", t.st.Location(t.dir), err)
	}
	return nil
}

// Rows iterates a run's rows, in order. Write may call it twice.
type Rows func(fn func(row []byte) error) error

// WriteOptions say how one run writes the table.
type WriteOptions struct {
	// Replace replaces the table's rows whole (the completion tables); otherwise rows are upserted
	// by id: a row replaces the live row with its id, unless both have a meta.lastUpdated and
	// the live row's is later (Cumulus ETL's merge condition), and Deleted ids are removed.
	Replace bool
	Deleted Rows // ids, one per call, for an upsert
	// Columns are the columns the rows fit, including the existing table's (schema.Table.Merge).
	Columns     *schema.Column
	RowsPerFile int
	TempDir     string
	Now         time.Time
	EngineInfo  string // e.g. "cumulus-etl/1.2.3"
}

// Result says what a write did.
type Result struct {
	Version            int64
	Added, Removed     int   // data files
	RowsWritten        int64 // new rows
	RowsCopied         int64 // rows of replaced files copied to their new files
	RowsReplacedOrGone int64 // rows of the old table replaced by a new row or deleted
	RowsStale          int64 // rows of the run not written: the live row was updated later
}

// Write writes a run's rows as one new version of the table: new data files first (invisible
// until the commit), then the files of the old version that hold replaced or deleted ids rewritten
// without those rows (copy on write), then one commit, created only if absent. An upsert into
// a table with rows reads the run's rows twice: once for their ids and meta.lastUpdated, to
// match them with the live rows, once to write those that win.
func (t *Table) Write(ctx context.Context, rows Rows, opts WriteOptions) (Result, error) {
	var res Result
	if err := t.CheckWritable(); err != nil {
		return res, err
	}
	fw := t.newFileWriter(ctx, opts)
	defer fw.abort()
	var removes []Action
	switch {
	case !opts.Replace && t.snap != nil && len(t.snap.files) > 0:
		cow, err := t.upsert(ctx, rows, fw, opts)
		if err != nil {
			return res, err
		}
		removes, res.RowsReplacedOrGone, res.RowsCopied, res.RowsStale = cow.removes, cow.dropped, cow.rows, cow.stale
		res.RowsWritten = fw.rows - cow.rows
	default:
		if err := rows(fw.write); err != nil {
			return res, err
		}
		if err := fw.finish(); err != nil {
			return res, err
		}
		res.RowsWritten = fw.rows
		if opts.Replace && t.snap != nil {
			for _, a := range t.snap.Files() {
				removes = append(removes, removeAction(a, opts.Now))
				res.RowsReplacedOrGone += numRecords(a)
			}
		}
	}
	adds := fw.adds
	actions, err := t.commitActions(opts, len(removes) > 0)
	if err != nil {
		return res, err
	}
	if t.snap != nil && len(adds) == 0 && len(removes) == 0 && len(actions) == 1 {
		res.Version = t.snap.Version // nothing changed: no empty commit
		return res, nil
	}
	actions = append(append(actions, removes...), adds...)
	snap := t.snap
	if snap == nil {
		snap = newSnapshot()
	}
	if err := t.log.Commit(ctx, snap, actions, opts.Now); err != nil {
		return res, err
	}
	fw.committed()
	t.snap = snap
	res.Version, res.Added, res.Removed = snap.Version, len(adds), len(removes)
	return res, nil
}

// upsert writes the run's rows that win over the live rows with their ids into fw, then the
// live files that hold replaced or deleted ids rewritten without those rows (copyOnWrite).
func (t *Table) upsert(ctx context.Context, rows Rows, fw *fileWriter, opts WriteOptions) (cowResult, error) {
	hf, err := newHitFinder(opts.TempDir, t.liveRows()*80)
	if err != nil {
		return cowResult{}, err
	}
	defer hf.close()
	var keys jsonrow.Reader
	var runRows uint64
	err = rows(func(row []byte) error {
		id, updated, err := idAndUpdateTime(&keys, row)
		if err != nil {
			return err
		}
		runRows++
		return hf.addKey(id, runRows-1, updated)
	})
	if err == nil && opts.Deleted != nil {
		err = opts.Deleted(func(id []byte) error { return hf.addKey(id, deletedRow, 0) })
	}
	if err != nil {
		return cowResult{}, err
	}
	found, err := t.findHits(ctx, hf, int64(runRows), opts)
	if err != nil {
		return cowResult{}, err
	}
	var i uint64
	err = rows(func(row []byte) error {
		defer func() { i++ }()
		if found.stale[i/64]&(1<<(i%64)) != 0 {
			return nil
		}
		return fw.write(row)
	})
	if err == nil && i != runRows {
		err = fmt.Errorf("the run's rows changed between two readings (%d, then %d)", runRows, i)
	}
	if err != nil {
		return cowResult{}, err
	}
	cow, err := t.copyOnWrite(ctx, found, fw, opts)
	cow.stale = found.staleRows
	return cow, err
}

// commitActions are the commitInfo, and the protocol and metaData when the table is new or its
// columns grew.
func (t *Table) commitActions(opts WriteOptions, removes bool) ([]Action, error) {
	op, params := "WRITE", map[string]any{"mode": "Append"}
	switch {
	case opts.Replace:
		params["mode"] = "Overwrite"
	case t.snap != nil && removes:
		op, params = "MERGE", map[string]any{"predicate": "target.id = source.id"}
	}
	info, _ := json.Marshal(map[string]any{"timestamp": opts.Now.UnixMilli(), "operation": op,
		"operationParameters": params, "engineInfo": opts.EngineInfo, "isBlindAppend": !removes})
	actions := []Action{{CommitInfo: info}}
	schemaString, err := SchemaString(opts.Columns)
	if err != nil {
		return nil, err
	}
	if t.snap == nil {
		created := opts.Now.UnixMilli()
		actions = append(actions, Action{Protocol: &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}},
			Action{Metadata: &Metadata{ID: uuid.NewString(), Format: Format{Provider: "parquet", Options: map[string]string{}},
				SchemaString: schemaString, PartitionColumns: []string{}, Configuration: map[string]string{}, CreatedTime: &created}})
	} else if schemaString != t.snap.Metadata.SchemaString {
		m := t.snap.Metadata // schema evolution: the same table, more columns; old files read them as null
		m.SchemaString = schemaString
		actions = append(actions, Action{Metadata: &m})
	}
	return actions, nil
}

func removeAction(a *Add, now time.Time) Action {
	ts, yes, size := now.UnixMilli(), true, a.Size
	return Action{Remove: &Remove{Path: a.Path, DeletionTimestamp: &ts, DataChange: true,
		ExtendedFileMetadata: &yes, PartitionValues: map[string]*string{}, Size: &size}}
}

func (t *Table) liveRows() int64 {
	var n int64
	for _, a := range t.snap.files {
		n += numRecords(a)
	}
	return n
}

// numRecords reads an add's row count from its stats (0 when it has none).
func numRecords(a *Add) int64 {
	var s struct {
		NumRecords int64 `json:"numRecords"`
	}
	_ = json.Unmarshal([]byte(a.Stats), &s)
	return s.NumRecords
}

// idAndUpdateTime finds a row's top-level "id" string and its meta.lastUpdated as updateTime
// encodes it (0 when the row has none).
func idAndUpdateTime(r *jsonrow.Reader, row []byte) (id []byte, updated uint64, err error) {
	r.Reset(row)
	if err := r.BeginObject(); err != nil {
		return nil, 0, err
	}
	for {
		key, ok, err := r.Key()
		switch {
		case err != nil:
			return nil, 0, err
		case !ok && id == nil:
			return nil, 0, errors.New("row without an id")
		case !ok:
			return id, updated, nil
		case string(key) == "id":
			if id, err = r.String(); err != nil {
				return nil, 0, err
			}
			id = bytes.Clone(id)
		case string(key) == "meta":
			if updated, err = metaUpdateTime(r); err != nil {
				return nil, 0, err
			}
		default:
			if err := r.Skip(); err != nil {
				return nil, 0, err
			}
		}
	}
}

// metaUpdateTime reads the meta object at r and returns its lastUpdated as updateTime encodes
// it (0 when it has none).
func metaUpdateTime(r *jsonrow.Reader) (uint64, error) {
	if err := r.BeginObject(); err != nil {
		return 0, err
	}
	var updated uint64
	for {
		key, ok, err := r.Key()
		if err != nil || !ok {
			return updated, err
		}
		if string(key) == "lastUpdated" {
			v, err := r.String()
			if err != nil {
				return 0, err
			}
			updated = updateTime(v)
		} else if err := r.Skip(); err != nil {
			return 0, err
		}
	}
}

// localCopy copies a data file to a temporary local file, to read it with random access.
func (t *Table) localCopy(ctx context.Context, name, tempDir string) (*os.File, error) {
	r, err := t.st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := os.CreateTemp(tempDir, "cumulus-etl-delta-*.parquet")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // gone when closed
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", t.st.Location(name), err)
	}
	return f, nil
}

// openData opens a live data file for reading.
func (t *Table) openData(ctx context.Context, a *Add, tempDir string) (*parquetfile.File, func(), error) {
	p, err := dataPath(a.Path)
	if err != nil {
		return nil, nil, err
	}
	name := path.Join(t.dir, p)
	f, err := t.localCopy(ctx, name, tempDir)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	pf, err := parquetfile.Open(f, info.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", t.st.Location(name), err)
	}
	return pf, func() { f.Close() }, nil
}

// ReadRows calls fn with every live row as JSON.
func (t *Table) ReadRows(ctx context.Context, tempDir string, fn func(row []byte) error) error {
	if t.snap == nil {
		return nil
	}
	for _, a := range t.snap.Files() {
		pf, done, err := t.openData(ctx, a, tempDir)
		if err != nil {
			return err
		}
		err = pf.ReadRows(fn)
		done()
		if err != nil {
			return err
		}
	}
	return nil
}

// LiveFiles returns the storage names of the live data files, sorted.
func (t *Table) LiveFiles() ([]string, error) {
	if t.snap == nil {
		return nil, nil
	}
	var out []string
	for _, a := range t.snap.Files() {
		p, err := dataPath(a.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, path.Join(t.dir, p))
	}
	return out, nil
}
