package main_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"cumulus-etl/internal/cli/clitest"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
	"cumulus-etl/internal/tables/parquetfile"
)

// synthea is the shared synthea-60 export (skips the test without it).
func synthea(t *testing.T) string {
	t.Helper()
	return inputtest.Synthea60(t)
}

// observationIDs reads the Delta table's live rows (through our log reader) and returns their ids,
// sorted; it fails the test if the log or a live file is unreadable.
func observationIDs(t *testing.T, out string) []string {
	t.Helper()
	ctx := context.Background()
	st := store.NewLocal(out, store.Options{})
	live, err := (&tables.Delta{Store: st}).LiveFiles(ctx, "observation")
	if err != nil {
		t.Fatalf("the Delta log does not replay: %v", err)
	}
	var ids []string
	for _, name := range live {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("live file missing: %v", err)
		}
		info, _ := f.Stat()
		pf, err := parquetfile.Open(f, info.Size())
		if err != nil {
			t.Fatalf("live file %s unreadable: %v", name, err)
		}
		_ = pf.Strings("id", func(_ int64, v []byte) error { ids = append(ids, string(v)); return nil })
		f.Close()
	}
	sort.Strings(ids)
	return ids
}

// secondInput is synthea(t)-60 with three of its Observations in deleted/.
func secondInput(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(synthea(t))); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(synthea(t), "Observation.000.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, _ := gzip.NewReader(f)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	var entries []string
	for i := 0; sc.Scan() && len(entries) < 3; i++ {
		var r struct{ ID string }
		_ = json.Unmarshal(sc.Bytes(), &r)
		if i%100 == 0 {
			entries = append(entries, fmt.Sprintf(`{"request":{"method":"DELETE","url":"Observation/%s"}}`, r.ID))
		}
	}
	_ = os.MkdirAll(filepath.Join(dir, "deleted"), 0o755)
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + "]}\n"
	if err := os.WriteFile(filepath.Join(dir, "deleted", "Bundle.000.ndjson"), []byte(bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Issue 7, item 6: kill -9 at several points of a Delta write (while data files are written,
// right after the commit, later) leaves the table readable at its previous or its new version,
// and a rerun completes the job.
func TestKillDuringDeltaWriteLeavesOldOrNewVersion(t *testing.T) {
	bin := clitest.Binary(t)
	in2 := secondInput(t)
	points := map[string]func(out string) bool{
		"a new data file appears": func(out string) bool {
			files, _ := filepath.Glob(filepath.Join(out, "observation", "*.parquet"))
			tmp, _ := filepath.Glob(filepath.Join(out, "observation", store.TempPrefix+"*"))
			return len(files) > 1 || len(tmp) > 0
		},
		"the commit appears": func(out string) bool {
			_, err := os.Stat(filepath.Join(out, "observation", "_delta_log", "00000000000000000001.json"))
			return err == nil
		},
		"a later table starts": func(out string) bool {
			_, err := os.Stat(filepath.Join(out, "practitioner", "_delta_log", "00000000000000000001.json"))
			return err == nil
		},
	}
	var before, after []string
	phi := filepath.Join(t.TempDir(), "phi") // one codebook: the same ids in every subtest
	for name, reached := range points {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			out := filepath.Join(root, "out")
			if r := clitest.Run(t, "", append([]string{synthea(t), out, phi}, withTime...)...); r.Code != 0 {
				t.Fatalf("first run: %d\n%s", r.Code, r.Stderr)
			}
			if before == nil {
				before = observationIDs(t, out)
			}
			cmd := exec.Command(bin, append([]string{in2, out, phi}, withTime...)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Minute)
			for !reached(out) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			got := observationIDs(t, out)
			if after != nil && fmt.Sprint(got) != fmt.Sprint(before) && fmt.Sprint(got) != fmt.Sprint(after) {
				t.Fatalf("after kill -9: %d live rows, neither the old %d nor the new %d", len(got), len(before), len(after))
			}
			if len(got) != len(before) && len(got) != len(before)-3 {
				t.Fatalf("after kill -9: %d live rows (before %d)", len(got), len(before))
			}
			if r := clitest.Run(t, "", append([]string{in2, out, phi}, withTime...)...); r.Code != 0 {
				t.Fatalf("rerun: %d\n%s", r.Code, r.Stderr)
			}
			final := observationIDs(t, out)
			if len(final) != len(before)-3 {
				t.Fatalf("after the rerun: %d rows, want %d", len(final), len(before)-3)
			}
			if after == nil {
				after = final
			} else if fmt.Sprint(final) != fmt.Sprint(after) {
				t.Fatal("the rerun's rows differ from another rerun's")
			}
		})
	}
}
