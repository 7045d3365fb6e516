package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mbits "math/bits"
	"net/url"
	"path"

	"github.com/google/uuid"

	"cumulus-etl/internal/tables/parquetfile"
)

// fileWriter writes rows into new data files of at most RowsPerFile rows each. Until committed,
// abort deletes the files it made (a crash leaves them unreferenced, for vacuum).
type fileWriter struct {
	ctx     context.Context
	t       *Table
	opts    WriteOptions
	w       ObjectWriter
	counted *countingWriter
	pw      *parquetfile.Writer
	name    string
	curRows int64
	rows    int64
	adds    []Action
	made    []string
	done    bool
}

func (t *Table) newFileWriter(ctx context.Context, opts WriteOptions) *fileWriter {
	if opts.RowsPerFile <= 0 {
		opts.RowsPerFile = 100000
	}
	return &fileWriter{ctx: ctx, t: t, opts: opts}
}

type countingWriter struct {
	w ObjectWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (fw *fileWriter) write(row []byte) error {
	if fw.pw == nil {
		if err := fw.open(); err != nil {
			return err
		}
	}
	if err := fw.pw.Write(row); err != nil {
		return fmt.Errorf("%s: %w", fw.t.st.Location(fw.name), err)
	}
	fw.curRows++
	fw.rows++
	if fw.curRows >= int64(fw.opts.RowsPerFile) {
		return fw.finish()
	}
	return nil
}

// copyFrom copies the rows of src that keep accepts into the current file (see
// parquetfile.Writer.CopyFrom), then cuts files at RowsPerFile as write does.
func (fw *fileWriter) copyFrom(src *parquetfile.File, keep func(int64) bool) (int64, error) {
	if fw.pw != nil && fw.curRows+src.NumRows() > int64(fw.opts.RowsPerFile) {
		if err := fw.finish(); err != nil { // a file never outgrows RowsPerFile by a copy
			return 0, err
		}
	}
	if fw.pw == nil {
		if err := fw.open(); err != nil {
			return 0, err
		}
	}
	n, err := fw.pw.CopyFrom(src, keep)
	if err != nil {
		return n, fmt.Errorf("%s: %w", fw.t.st.Location(fw.name), err)
	}
	fw.curRows += n
	fw.rows += n
	if fw.curRows >= int64(fw.opts.RowsPerFile) {
		return n, fw.finish()
	}
	return n, nil
}

func (fw *fileWriter) open() error {
	rel := fmt.Sprintf("part-%05d-%s-c000.snappy.parquet", len(fw.made), uuid.NewString())
	fw.name = path.Join(fw.t.dir, rel)
	w, err := fw.t.st.Create(fw.ctx, fw.name, true)
	if err != nil {
		return err
	}
	fw.w, fw.counted = w, &countingWriter{w: w}
	if fw.pw, err = parquetfile.New(fw.counted, fw.opts.Columns, parquetfile.Options{}); err != nil {
		w.Abort()
		return err
	}
	fw.made = append(fw.made, fw.name)
	fw.curRows = 0
	return nil
}

// finish closes the current file, if any, and records its add action.
func (fw *fileWriter) finish() error {
	if fw.pw == nil {
		return nil
	}
	stats, err := fw.pw.Close()
	fw.pw = nil
	if err == nil {
		err = fw.w.Commit()
	}
	if err != nil {
		fw.w.Abort()
		return fmt.Errorf("writing %s: %w", fw.t.st.Location(fw.name), err)
	}
	rel := path.Base(fw.name)
	fw.adds = append(fw.adds, Action{Add: &Add{Path: url.PathEscape(rel), PartitionValues: map[string]*string{},
		Size: fw.counted.n, ModificationTime: fw.opts.Now.UnixMilli(), DataChange: true, Stats: statsJSON(stats)}})
	return nil
}

// committed says the log now references the files.
func (fw *fileWriter) committed() { fw.done = true }

// abort removes the files made, unless committed.
func (fw *fileWriter) abort() {
	if fw.done {
		return
	}
	if fw.pw != nil {
		_, _ = fw.pw.Close()
		fw.w.Abort()
		fw.made = fw.made[:len(fw.made)-1]
	}
	for _, name := range fw.made {
		_ = fw.t.st.Delete(context.WithoutCancel(fw.ctx), name)
	}
	fw.done = true
}

// statsJSON is an add's stats: the exact row count, and exact null counts, minimums and maximums
// of the top-level primitive columns (booleans get null counts only, as Spark does).
func statsJSON(s parquetfile.Stats) string {
	out := map[string]any{"numRecords": s.Rows}
	mins, maxs, nulls := map[string]any{}, map[string]any{}, map[string]any{}
	for _, c := range s.Columns {
		nulls[c.Name] = c.Nulls
		if c.Min != nil {
			if _, isBool := c.Min.(bool); !isBool {
				mins[c.Name], maxs[c.Name] = c.Min, c.Max
			}
		}
	}
	out["minValues"], out["maxValues"], out["nullCount"] = mins, maxs, nulls
	b, _ := json.Marshal(out)
	return string(b)
}

// dataPath decodes an add's path to the file's name in the table folder.
func dataPath(p string) (string, error) {
	d, err := url.PathUnescape(p)
	if err != nil {
		return "", fmt.Errorf("data file path %q: %w", p, err)
	}
	if path.IsAbs(d) || path.Clean(d) != d || d == ".." || len(d) > 2 && d[:3] == "../" {
		return "", fmt.Errorf("data file path %q is not inside the table", p)
	}
	return d, nil
}

type cowResult struct {
	removes       []Action
	rows, dropped int64 // rows copied, rows replaced or deleted
	stale         int64 // rows of the run that lost to a live row updated later
}

// findHits reads the id and meta.lastUpdated of every live row and matches them with the run's
// keys in hf (hitFinder.resolve).
func (t *Table) findHits(ctx context.Context, hf *hitFinder, runRows int64, opts WriteOptions) (hitResult, error) {
	files := t.snap.Files()
	rowsPer := make([]int64, len(files))
	for i, a := range files {
		pf, done, err := t.openData(ctx, a, opts.TempDir)
		if err != nil {
			return hitResult{}, err
		}
		rowsPer[i] = pf.NumRows()
		err = liveKeys(pf, func(row int64, id []byte, lastUpdated uint64) error { return hf.addRow(i, int(row), id, lastUpdated) })
		done()
		if err != nil {
			return hitResult{}, fmt.Errorf("reading ids of %s: %w", t.st.Location(path.Join(t.dir, a.Path)), err)
		}
	}
	return hf.resolve(rowsPer, runRows)
}

// liveKeys calls fn with the number, id and meta.lastUpdated (see updateTime) of every row of
// a live file that has an id. Memory: eight bytes per row of the file.
func liveKeys(pf *parquetfile.File, fn func(row int64, id []byte, lastUpdated uint64) error) error {
	updated := make([]uint64, pf.NumRows())
	err := pf.Strings("meta.lastUpdated", func(row int64, v []byte) error {
		updated[row] = updateTime(v)
		return nil
	})
	if err != nil && !errors.Is(err, parquetfile.ErrNoColumn) {
		return err
	}
	return pf.Strings("id", func(row int64, id []byte) error { return fn(row, id, updated[row]) })
}

// copyOnWrite rewrites the live files that hold hits without those rows, into fw; it returns
// the removes of the old files.
func (t *Table) copyOnWrite(ctx context.Context, found hitResult, fw *fileWriter, opts WriteOptions) (cowResult, error) {
	var res cowResult
	files := t.snap.Files()
	for i, bits := range found.hits {
		if bits == nil {
			continue
		}
		res.removes = append(res.removes, removeAction(files[i], opts.Now))
		if hitCount(bits) >= found.rows[i] {
			res.dropped += found.rows[i] // every row is replaced or deleted: nothing to copy, and no empty file
			continue
		}
		pf, done, err := t.openData(ctx, files[i], opts.TempDir)
		if err != nil {
			return res, err
		}
		copied, err := fw.copyFrom(pf, func(row int64) bool { return bits[row/64]&(1<<(row%64)) == 0 })
		done()
		if err != nil {
			return res, err
		}
		res.rows += copied
		res.dropped += pf.NumRows() - copied
	}
	return res, fw.finish()
}

// hitCount is the number of rows a file's hit bits mark.
func hitCount(bits []uint64) int64 {
	n := 0
	for _, w := range bits {
		n += mbits.OnesCount64(w)
	}
	return int64(n)
}
