package readback

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
)

// synthea is the shared synthea-60 export (skips the test without it).
func synthea(t *testing.T) string {
	t.Helper()
	return inputtest.Synthea60(t)
}

var runTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// runETL runs the whole ETL on input into out with one output format (same PHI folder, same clock,
// so every format gets the same rows).
func runETL(t *testing.T, format, in, out, phi string) {
	t.Helper()
	_, err := etl.Run(context.Background(), etl.Config{InputDir: in, OutputDir: out, PHIDir: phi,
		OutputFormat: format, ExportGroup: "g", ExportTimestamp: runTime, Now: func() time.Time { return runTime },
		Version: "test", Workers: 2, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("%s run: %v", format, err)
	}
}

// tablesIn lists the tables (folders) of an ndjson OUTPUT.
func tablesIn(t *testing.T, out string) []string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "JobConfig" && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func ndjsonRows(t *testing.T, dir string) []any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	var out []any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line != "" {
				out = append(out, decode(t, line))
			}
		}
	}
	return out
}

func parquetRows(t *testing.T, db *sql.DB, files []string) []any {
	t.Helper()
	if len(files) == 0 {
		return nil
	}
	list, _ := json.Marshal(files)
	q := "SELECT to_json(t)::VARCHAR FROM read_parquet(" + strings.ReplaceAll(string(list), `"`, `'`) + ", union_by_name=true) t"
	return jsonRows(t, db, q)
}

func deltaRows(t *testing.T, db *sql.DB, out, table string) []any {
	t.Helper()
	f := &tables.Delta{Store: store.NewLocal(out, store.Options{})}
	live, err := f.LiveFiles(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range live {
		live[i] = filepath.Join(out, name)
	}
	return parquetRows(t, db, live)
}

// Issue 7, "Done means": every table of a run on synthea(t)-60, read back with DuckDB from Parquet
// and from Delta Lake (read_parquet over the live files our log reader lists), holds the same rows
// with the same values as the ndjson output of the same run.
func TestEveryFormatReadsBackAsTheNDJSONOutput(t *testing.T) {
	root := t.TempDir()
	phi := filepath.Join(root, "phi")
	for _, format := range etl.OutputFormats {
		runETL(t, format, synthea(t), filepath.Join(root, format), phi)
	}
	db := openDuckDB(t)
	names := tablesIn(t, filepath.Join(root, "ndjson"))
	if len(names) < 12 {
		t.Fatalf("only %d tables: %v", len(names), names)
	}
	for _, table := range names {
		want := ndjsonRows(t, filepath.Join(root, "ndjson", table))
		pq, _ := filepath.Glob(filepath.Join(root, "parquet", table, table+".*.parquet"))
		sameRows(t, "parquet "+table, parquetRows(t, db, pq), want)
		sameRows(t, "deltalake "+table, deltaRows(t, db, filepath.Join(root, "deltalake"), table), want)
	}
}
