package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"testing"
	"time"

	"cumulus-etl/internal/schema"
)

var errDied = errors.New("the process died here")

// dyingStorage acts like a process killed at its n-th write: that write and everything after it
// fail (so no cleanup runs either), as after kill -9.
type dyingStorage struct {
	dirStorage
	n, writes int
}

func (d *dyingStorage) dead() bool { d.writes++; return d.writes >= d.n }

func (d *dyingStorage) Create(ctx context.Context, name string, ifAbsent bool) (ObjectWriter, error) {
	if d.dead() {
		return nil, errDied
	}
	w, err := d.dirStorage.Create(ctx, name, ifAbsent)
	if err != nil {
		return nil, err
	}
	return &dyingWriter{ObjectWriter: w, d: d}, nil
}

func (d *dyingStorage) Delete(ctx context.Context, name string) error {
	if d.dead() {
		return errDied
	}
	return d.dirStorage.Delete(ctx, name)
}

type dyingWriter struct {
	ObjectWriter
	d *dyingStorage
}

func (w *dyingWriter) Write(p []byte) (int, error) {
	if w.d.writes >= w.d.n {
		return 0, errDied
	}
	return w.ObjectWriter.Write(p)
}

func (w *dyingWriter) Commit() error {
	if w.d.dead() {
		return errDied // the temporary file stays, as a killed process leaves it
	}
	return w.ObjectWriter.Commit()
}

func (w *dyingWriter) Abort() error {
	if w.d.writes >= w.d.n {
		return nil // a dead process cleans nothing up
	}
	return w.ObjectWriter.Abort()
}

// tableIDs replays the table and reads every live file: the sorted live ids and statuses.
func tableIDs(t *testing.T, st Storage, dir string) (int64, string) {
	t.Helper()
	tb, err := OpenTable(context.Background(), st, dir)
	if err != nil {
		t.Fatalf("table unreadable after the crash: %v", err)
	}
	var rows []string
	err = tb.ReadRows(context.Background(), t.TempDir(), func(row []byte) error {
		rows = append(rows, string(row))
		return nil
	})
	if err != nil {
		t.Fatalf("a live file is unreadable after the crash: %v", err)
	}
	sort.Strings(rows)
	v := int64(-1)
	if tb.Snapshot() != nil {
		v = tb.Snapshot().Version
	}
	return v, fmt.Sprint(rows)
}

// Issue 7, item 6: a process that dies at any write of a Delta write (a data file, a rewritten
// file, the commit, the checkpoint, _last_checkpoint, compaction, vacuum) leaves the table readable
// at its previous or its new version, stray files are never live, and a rerun completes the job.
func TestDeathAtEveryWriteLeavesOldOrNewVersion(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	// Nine commits first, so the run under test writes commit 9 ... and the checkpoint at 10.
	for i := range 9 {
		write(t, dirStorage{base}, "observation", nil, obs(fmt.Sprint("r", i), "final"), obs("x", fmt.Sprint(i)))
	}
	oldV, oldRows := tableIDs(t, dirStorage{base}, "observation")
	want := ""
	for n := 1; ; n++ {
		root := t.TempDir()
		if err := os.CopyFS(root, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		plain := dirStorage{root}
		run := func(st Storage) error {
			for v := 0; v < 2; v++ { // two commits: 9 (upsert with copy-on-write) and 10 (+ checkpoint)
				tb, err := OpenTable(ctx, st, "observation")
				if err != nil {
					return err
				}
				cols, _ := schema.NewTable("Observation")
				existing, _ := tb.Columns()
				_ = cols.Merge(existing)
				rows := []string{obs("x", fmt.Sprint("new", v), `,"referenceRange":[{"low":{"value":1}}]`), obs(fmt.Sprint("n", v), "final")}
				for _, r := range rows {
					_ = cols.Add([]byte(r))
				}
				opts := WriteOptions{Deleted: rowsOf("r0"), Columns: cols.Root(), RowsPerFile: 2, TempDir: t.TempDir(), Now: t0}
				if _, err := tb.Write(ctx, rowsOf(rows...), opts); err != nil {
					return err
				}
				if _, err := tb.Optimize(ctx, opts); err != nil {
					return err
				}
				if _, err := tb.Vacuum(ctx, t0.Add(30*24*time.Hour), 0); err != nil {
					return err
				}
			}
			return nil
		}
		err := run(&dyingStorage{dirStorage: plain, n: n})
		if err == nil {
			if n < 5 {
				t.Fatalf("the run made only %d writes", n)
			}
			t.Logf("death tried at each of %d writes", n-1)
			return // n is past the run's last write: every point was tried
		}
		if want == "" {
			clean := t.TempDir()
			_ = os.CopyFS(clean, os.DirFS(base))
			if err := run(dirStorage{clean}); err != nil {
				t.Fatal(err)
			}
			_, want = tableIDs(t, dirStorage{clean}, "observation")
		}
		if !errors.Is(err, errDied) {
			t.Fatalf("death at write %d: %v", n, err)
		}
		v, rows := tableIDs(t, plain, "observation")
		if v < oldV || v > oldV+3 || v == oldV && rows != oldRows {
			t.Fatalf("death at write %d: version %d with rows %s (before: %d %s)", n, v, rows, oldV, oldRows)
		}
		if err := run(plain); err != nil {
			t.Fatalf("rerun after death at write %d: %v", n, err)
		}
		if _, rows := tableIDs(t, plain, "observation"); rows != want {
			t.Fatalf("rerun after death at write %d gives %s", n, rows)
		}
		checkNoDanglingLiveFile(t, plain, "observation")
	}
}

func checkNoDanglingLiveFile(t *testing.T, st dirStorage, dir string) {
	t.Helper()
	tb, _ := OpenTable(context.Background(), st, dir)
	for _, a := range tb.Snapshot().Files() {
		f, err := st.Open(context.Background(), path.Join(dir, a.Path))
		if err != nil {
			t.Fatalf("live file %s: %v", a.Path, err)
		}
		_, _ = io.Copy(io.Discard, f)
		f.Close()
	}
}
