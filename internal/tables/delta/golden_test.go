package delta

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"cumulus-etl/internal/input/inputtest"
)

// goldenDir is the shared folder of Delta tables other writers made (skips the test without it).
func goldenDir(t *testing.T) string {
	t.Helper()
	return inputtest.SharedData(t, "delta-golden")
}

// jsonReplay is an independent oracle: every JSON commit from 0, no checkpoint, last action wins.
func jsonReplay(t *testing.T, table string) (version int64, live []string) {
	t.Helper()
	files := map[string]bool{}
	for v := int64(0); ; v++ {
		f, err := os.Open(filepath.Join(goldenDir(t), table, "_delta_log", fmt.Sprintf("%020d.json", v)))
		if errors.Is(err, os.ErrNotExist) {
			version = v - 1
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			a, err := ParseAction(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if a.Add != nil {
				files[a.Add.Path] = true
			} else if a.Remove != nil {
				delete(files, a.Remove.Path)
			}
		}
		f.Close()
	}
	for p := range files {
		live = append(live, p)
	}
	sort.Strings(live)
	return version, live
}

// Issue 7, "Done means": the log reader gives the live files of every Spark- and delta-rs-written
// table in ../shared/data/delta-golden (its README's versions and counts), the checkpoint-based
// replay equals the JSON replay, and tables with features we do not write are refused.
func TestGoldenTablesReplay(t *testing.T) {
	for _, tc := range []struct {
		table    string
		version  int64
		live     int
		writable bool
		onlyLive string // the one live path the README names, if any
	}{
		{"simple_table", 4, 5, true, ""},
		{"simple_table_with_checkpoint", 10, 11, true, ""},
		{"delta-1.2.1-only-struct-stats", 12, 12, true, ""},
		{"latest_not_checkpointed", 3, 1, true, "part-00000-70b1dcdf-0236-4f63-a072-124cdbafd8a0-c000.snappy.parquet"},
		{"with_checkpoint_no_last_checkpoint", 3, 1, true, "part-00000-70b1dcdf-0236-4f63-a072-124cdbafd8a0-c000.snappy.parquet"},
		{"table-without-dv-small", 0, 1, true, ""},
		{"table-with-dv-small", 1, 1, false, ""},
		{"table_with_column_mapping", 0, 2, false, ""},
		{"table_with_liquid_clustering", 0, 10, false, ""},
	} {
		t.Run(tc.table, func(t *testing.T) {
			s, err := NewLog(dirStorage{goldenDir(t)}, tc.table).Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range s.Files() {
				got = append(got, a.Path)
			}
			wantVersion, want := jsonReplay(t, tc.table)
			if s.Version != tc.version || wantVersion != tc.version {
				t.Errorf("version %d (JSON replay %d), want %d", s.Version, wantVersion, tc.version)
			}
			if len(got) != tc.live || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("live files %v\nJSON replay %v (want %d)", got, want, tc.live)
			}
			if tc.onlyLive != "" && (len(got) != 1 || got[0] != tc.onlyLive) {
				t.Errorf("live %v, want %s", got, tc.onlyLive)
			}
			err = s.CheckWritable()
			if tc.writable && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.writable && !errors.Is(err, ErrUnsupportedTable) {
				t.Errorf("not refused: %v", err)
			}
		})
	}
}

// The checkpoint the table's version 2 was written with holds one live file, which commit 3
// replaced (README): reading the checkpoint alone gives that file.
func TestGoldenCheckpointAlone(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir(t), "latest_not_checkpointed", "_delta_log", checkpointName(2)))
	if err != nil {
		t.Fatal(err)
	}
	actions, err := readCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	s := newSnapshot()
	for _, a := range actions {
		if err := s.apply(a); err != nil {
			t.Fatal(err)
		}
	}
	if f := s.Files(); len(f) != 1 || f[0].Path != "part-00000-a190be9e-e3df-439e-b366-06a863f51e99-c000.snappy.parquet" {
		t.Errorf("checkpoint live files %v", f)
	}
}
