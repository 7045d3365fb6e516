package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/schema"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func rowsOf(rows ...string) Rows {
	return func(fn func([]byte) error) error {
		for _, r := range rows {
			if err := fn([]byte(r)); err != nil {
				return err
			}
		}
		return nil
	}
}

// write upserts rows (and deletes ids) into the table at dir, the way the ETL does.
func write(t *testing.T, st Storage, dir string, deleted []string, rows ...string) Result {
	t.Helper()
	ctx := context.Background()
	tb, err := OpenTable(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := schema.NewTable("Observation")
	if existing, err := tb.Columns(); err != nil {
		t.Fatal(err)
	} else if existing != nil {
		if err := cols.Merge(existing); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows {
		if err := cols.Add([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tb.Write(ctx, rowsOf(rows...), WriteOptions{Deleted: rowsOf(deleted...), Columns: cols.Root(),
		RowsPerFile: 2, TempDir: t.TempDir(), Now: t0, EngineInfo: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// liveRows reads the table back: id -> row.
func liveRows(t *testing.T, st Storage, dir string) map[string]map[string]any {
	t.Helper()
	tb, err := OpenTable(context.Background(), st, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	err = tb.ReadRows(context.Background(), t.TempDir(), func(row []byte) error {
		var m map[string]any
		if err := json.Unmarshal(row, &m); err != nil {
			return err
		}
		id := m["id"].(string)
		if _, dup := out[id]; dup {
			t.Errorf("id %s is live twice", id)
		}
		out[id] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obs(id, status string, extra ...string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":%q%s}`, id, status, strings.Join(extra, ""))
}

// Issue 7, item 4: a second run upserts by id (changed rows replaced, new ones added, rows absent
// from the run kept, ids from deleted/ removed), and new columns arrive with a new metaData.
func TestUpsertByIDWithDeletionsAndSchemaEvolution(t *testing.T) {
	st := dirStorage{t.TempDir()}
	r0 := write(t, st, "observation", nil, obs("a", "final"), obs("b", "final"), obs("c", "final"))
	if r0.Version != 0 || r0.Added != 2 || r0.RowsWritten != 3 {
		t.Fatalf("first write: %+v", r0)
	}
	r1 := write(t, st, "observation", []string{"c", "zz"},
		obs("b", "amended", `,"referenceRange":[{"low":{"value":1.5}}]`), obs("d", "final"))
	if r1.Version != 1 || r1.RowsReplacedOrGone != 2 {
		t.Fatalf("upsert: %+v", r1)
	}
	live := liveRows(t, st, "observation")
	var ids []string
	for id := range live {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if fmt.Sprint(ids) != "[a b d]" {
		t.Fatalf("live ids %v, want [a b d]", ids)
	}
	if live["b"]["status"] != "amended" || live["a"]["status"] != "final" {
		t.Errorf("rows: %v", live)
	}
	if _, ok := live["b"]["referenceRange"]; !ok {
		t.Errorf("new column lost: %v", live["b"])
	}
	tb, _ := OpenTable(context.Background(), st, "observation")
	if !strings.Contains(tb.Snapshot().Metadata.SchemaString, `"low"`) {
		t.Error("the commit with a new column has no new metaData")
	}
	var commit1 []string
	_ = tb.log.readCommit(context.Background(), "observation/_delta_log/"+commitName(1), func(a Action) error {
		switch {
		case a.Metadata != nil:
			commit1 = append(commit1, "metaData")
		case a.Remove != nil:
			commit1 = append(commit1, "remove")
		case a.Add != nil:
			commit1 = append(commit1, "add")
		case a.CommitInfo != nil:
			commit1 = append(commit1, "commitInfo")
		}
		return nil
	})
	if !strings.HasPrefix(strings.Join(commit1, ","), "commitInfo,metaData,remove") {
		t.Errorf("commit 1 actions: %v", commit1)
	}
}

// Issue 7, item 4: a V1 checkpoint every 10 commits, with _last_checkpoint, and the snapshot read
// through it equals the JSON replay of every commit.
func TestCheckpointEveryTenCommitsEqualsJSONReplay(t *testing.T) {
	st := dirStorage{t.TempDir()}
	for i := range 12 {
		write(t, st, "observation", []string{fmt.Sprint("r", i-2)}, obs(fmt.Sprint("r", i), "final"), obs("same", fmt.Sprint(i)))
	}
	logDir := filepath.Join(st.root, "observation", "_delta_log")
	if _, err := os.Stat(filepath.Join(logDir, checkpointName(10))); err != nil {
		t.Fatal(err)
	}
	last, _ := os.ReadFile(filepath.Join(logDir, "_last_checkpoint"))
	if !strings.Contains(string(last), `"version":10`) {
		t.Errorf("_last_checkpoint: %s", last)
	}
	tb, _ := OpenTable(context.Background(), st, "observation")
	oracle := newSnapshot()
	for v := int64(0); v <= 11; v++ {
		_ = tb.log.readCommit(context.Background(), "observation/_delta_log/"+commitName(v), oracle.apply)
	}
	got, want := pathsOf(tb.Snapshot().Files()), pathsOf(oracle.Files())
	if tb.Snapshot().Version != 11 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checkpoint replay v%d %v\nJSON replay %v", tb.Snapshot().Version, got, want)
	}
	if tb.Snapshot().Metadata.SchemaString != oracle.Metadata.SchemaString {
		t.Error("checkpoint schema differs")
	}
	live := liveRows(t, st, "observation")
	if len(live) != 3 || live["same"]["status"] != "11" {
		t.Errorf("live rows %v", live)
	}
}

func pathsOf(adds []*Add) []string {
	var out []string
	for _, a := range adds {
		out = append(out, a.Path)
	}
	return out
}

// Issue 7, item 4: a table with features we do not write (Cumulus's own Spark tables) is refused
// before anything is written.
func TestRefusesTablesWithFeaturesWeDoNotWrite(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(goldenDir(t), "table_with_liquid_clustering")
	if err := os.CopyFS(filepath.Join(root, "t"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	st := dirStorage{root}
	before, _ := os.ReadDir(filepath.Join(root, "t"))
	logBefore, _ := os.ReadDir(filepath.Join(root, "t", "_delta_log"))
	tb, err := OpenTable(context.Background(), st, "t")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := schema.NewTable("Observation")
	_, err = tb.Write(context.Background(), rowsOf(obs("a", "final")), WriteOptions{Columns: cols.Root(), TempDir: t.TempDir(), Now: t0})
	if !errors.Is(err, ErrUnsupportedTable) || !strings.Contains(err.Error(), "deletionVectors") {
		t.Fatalf("got %v", err)
	}
	after, _ := os.ReadDir(filepath.Join(root, "t"))
	logAfter, _ := os.ReadDir(filepath.Join(root, "t", "_delta_log"))
	if len(after) != len(before) || len(logAfter) != len(logBefore) {
		t.Errorf("something was written: %d -> %d files, log %d", len(before), len(after), len(logAfter))
	}
}

// Issue 7, item 4: small files are compacted at the end of a run (no data change), and vacuum
// deletes removed files only after the retention, and never a live file or a foreign one.
func TestOptimizeAndVacuum(t *testing.T) {
	st := dirStorage{t.TempDir()}
	for i := range 4 {
		write(t, st, "observation", nil, obs(fmt.Sprint("r", i), "final"))
	}
	ctx := context.Background()
	tb, _ := OpenTable(ctx, st, "observation")
	cols, _ := schema.NewTable("Observation")
	existing, _ := tb.Columns()
	_ = cols.Merge(existing)
	n, err := tb.Optimize(ctx, WriteOptions{Columns: cols.Root(), RowsPerFile: 100, TempDir: t.TempDir(), Now: t0})
	if err != nil || n != 4 {
		t.Fatalf("optimize replaced %d files: %v", n, err)
	}
	if files := tb.Snapshot().Files(); len(files) != 1 || files[0].DataChange {
		t.Fatalf("after optimize: %d files", len(files))
	}
	if live := liveRows(t, st, "observation"); len(live) != 4 {
		t.Fatalf("rows after optimize: %d", len(live))
	}
	foreign := filepath.Join(st.root, "observation", "notes.txt")
	_ = os.WriteFile(foreign, []byte("mine"), 0o644)
	otherFormat := filepath.Join(st.root, "observation", "observation.000.parquet") // not a Delta data file
	_ = os.WriteFile(otherFormat, []byte("PAR1"), 0o644)
	_ = os.Chtimes(otherFormat, t0.Add(-90*24*time.Hour), t0.Add(-90*24*time.Hour))
	if n, err := tb.Vacuum(ctx, t0.Add(6*24*time.Hour), 0); err != nil || n != 0 {
		t.Fatalf("vacuum within the retention deleted %d: %v", n, err)
	}
	if n, err := tb.Vacuum(ctx, t0.Add(8*24*time.Hour), 0); err != nil || n != 4 {
		t.Fatalf("vacuum after the retention deleted %d: %v", n, err)
	}
	for _, f := range []string{foreign, otherFormat} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("vacuum deleted %s, which is not a Delta data file", f)
		}
	}
	if live := liveRows(t, st, "observation"); len(live) != 4 {
		t.Fatalf("rows after vacuum: %d", len(live))
	}
}

// An upsert that replaces every row of a live file removes that file and copies nothing: it adds
// no data file without rows (one a rerun of the same export made in each table, which the next
// compaction then had to rewrite).
func TestUpsertReplacingAWholeFileAddsNoEmptyFile(t *testing.T) {
	st := dirStorage{t.TempDir()}
	write(t, st, "observation", nil, obs("a", "final"), obs("b", "final"), obs("c", "final"))
	r1 := write(t, st, "observation", nil, obs("a", "amended"), obs("b", "amended"))
	if r1.Added != 1 || r1.Removed != 1 || r1.RowsReplacedOrGone != 2 || r1.RowsCopied != 0 {
		t.Errorf("upsert of a whole file: %+v, want 1 file added (the new rows), 1 removed, 2 rows replaced, none copied", r1)
	}
	tb, _ := OpenTable(context.Background(), st, "observation")
	for _, a := range tb.Snapshot().Files() {
		if numRecords(a) == 0 {
			t.Errorf("live file %s has no rows", a.Path)
		}
	}
	if live := liveRows(t, st, "observation"); len(live) != 3 || live["a"]["status"] != "amended" || live["c"]["status"] != "final" {
		t.Errorf("live rows %v", live)
	}
}

// An upsert keeps a live row updated later than the run's row with its id, as Cumulus ETL's
// merge does (it updates when either meta.lastUpdated is null or the table's is not later than
// the update's); every other run row replaces its live row, and deletions win whatever the times.
func TestUpsertKeepsALiveRowUpdatedLater(t *testing.T) {
	at := func(ts string) string { return `,"meta":{"versionId":"1","lastUpdated":"` + ts + `"}` }
	cases := []struct {
		name          string
		live, run     string // the row's meta, "" for none
		deleted       bool
		wantStatus    string // the live row's status afterwards, "" for gone
		wantStale     int64
		wantReplacing int64
	}{
		{"the live row is later: kept", at("2024-05-01T00:00:00Z"), at("2024-04-01T00:00:00Z"), false, "live", 1, 0},
		{"the live row is later by its offset: kept", at("2024-05-01T00:00:00-05:00"), at("2024-05-01T03:00:00.000+00:00"), false, "live", 1, 0},
		{"the run's row is later: replaced", at("2024-04-01T00:00:00Z"), at("2024-05-01T00:00:00Z"), false, "run", 0, 1},
		{"the same time: replaced (a re-upload after the allow-list grew)", at("2024-05-01T00:00:00Z"), at("2024-05-01T00:00:00Z"), false, "run", 0, 1},
		{"the live row has no lastUpdated (Epic): replaced", "", at("2024-04-01T00:00:00Z"), false, "run", 0, 1},
		{"the run's row has no lastUpdated: replaced", at("2024-05-01T00:00:00Z"), "", false, "run", 0, 1},
		{"deleted, whatever the times", at("2024-05-01T00:00:00Z"), "", true, "", 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := dirStorage{t.TempDir()}
			write(t, st, "observation", nil, obs("a", "live", tc.live), obs("b", "live"), obs("c", "live"))
			var run []string
			var deleted []string
			if tc.deleted {
				deleted = []string{"a"}
			} else {
				run = append(run, obs("a", "run", tc.run))
			}
			res := write(t, st, "observation", deleted, append(run, obs("b", "run"), obs("d", "run"))...)
			live := liveRows(t, st, "observation")
			got := ""
			if row, ok := live["a"]; ok {
				got = row["status"].(string)
			}
			if got != tc.wantStatus || live["b"]["status"] != "run" || live["c"]["status"] != "live" || live["d"]["status"] != "run" {
				t.Fatalf("live rows %v; want a %q, b and d from the run, c kept", live, tc.wantStatus)
			}
			if res.RowsStale != tc.wantStale || res.RowsReplacedOrGone != tc.wantReplacing+1 {
				t.Errorf("result %+v: want %d stale and %d replaced or gone", res, tc.wantStale, tc.wantReplacing+1)
			}
		})
	}
}
