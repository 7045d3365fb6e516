package cli

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cumulus-etl/internal/cli/clitest"
	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/store/s3test"
	"cumulus-etl/internal/tables"
)

// formatFor returns the table format named by --output-format, reading s.
func formatFor(t *testing.T, name string, s store.Store) tables.Format {
	t.Helper()
	switch name {
	case "deltalake":
		return &tables.Delta{Store: s, BatchSize: 1000, TempDir: t.TempDir()}
	case "parquet":
		return &tables.Parquet{Store: s, BatchSize: 1000, TempDir: t.TempDir()}
	case "ndjson":
		return &tables.NDJSON{Store: s, BatchSize: 1000}
	}
	t.Fatalf("no reader for output format %s", name)
	return nil
}

// rowsOf reads the named tables of OUTPUT in one format: sorted rows by table (etl__completion
// only by table name: its rows carry the run's time).
func rowsOf(t *testing.T, f tables.Format, names []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range names {
		var rows []string
		if err := f.ReadRows(context.Background(), name, func(row []byte) error {
			if name == "etl__completion" {
				row = []byte(strings.Split(strings.Split(string(row), `"table_name":"`)[1], `"`)[0])
			}
			rows = append(rows, string(row))
			return nil
		}); err != nil {
			t.Fatalf("%s %s: %v", f.Name(), name, err)
		}
		slices.Sort(rows)
		out[name] = rows
	}
	return out
}

// TestS3_EveryOutputFormatEqualsLocalRun_RerunUpdatesInPlace: for each output format, INPUT,
// OUTPUT and PHI on S3 give the tables a local run with the same codebook gives; a rerun keeps the
// codebook and the rows, and updates a Delta table with a new commit in its log (commits are
// created only if absent: a second version 0 is refused by the server).
func TestS3_EveryOutputFormatEqualsLocalRun_RerunUpdatesInPlace(t *testing.T) {
	srv := s3test.Shared(t)
	srv.Setenv(t)
	bucket := "s3://" + srv.Bucket(t)
	sample := inputtest.SampleExport(t)
	upload(t, sample, openStore(t, bucket+"/in"))
	names := []string{"patient", "condition", "encounter", "etl__completion", "etl__completion_encounters"}
	for _, format := range etl.OutputFormats {
		t.Run(format, func(t *testing.T) {
			out, phi := bucket+"/out-"+format, bucket+"/phi-"+format
			args := []string{bucket + "/in", out, phi, "--output-format", format, "--task", "patient,condition,encounter"}
			if r := clitest.Run(t, "", args...); r.Code != 0 {
				t.Fatalf("ETL on S3 exited %d:\n%s", r.Code, r.Stderr)
			}
			s3out := openStore(t, out)
			onS3 := rowsOf(t, formatFor(t, format, s3out), names)
			if len(onS3["patient"]) == 0 {
				t.Fatal("no patient rows on S3")
			}
			local := t.TempDir()
			download(t, openStore(t, phi), filepath.Join(local, "phi"))
			if r := clitest.Run(t, "", sample, filepath.Join(local, "out"), filepath.Join(local, "phi"), "--output-format", format,
				"--task", "patient,condition,encounter"); r.Code != 0 {
				t.Fatalf("local run exited %d:\n%s", r.Code, r.Stderr)
			}
			sameTables(t, "S3 vs local", onS3, rowsOf(t, formatFor(t, format, store.NewLocal(filepath.Join(local, "out"), store.Options{})), names))

			if r := clitest.Run(t, "", args...); r.Code != 0 {
				t.Fatalf("rerun exited %d:\n%s", r.Code, r.Stderr)
			}
			rerun := rowsOf(t, formatFor(t, format, s3out), names)
			delete(rerun, "etl__completion")
			delete(onS3, "etl__completion")
			sameTables(t, "rerun vs first run", rerun, onS3)
			if format != "deltalake" {
				return
			}
			ctx := context.Background()
			if _, err := s3out.Stat(ctx, "patient/_delta_log/00000000000000000001.json"); err != nil {
				t.Errorf("the rerun made no second commit of the Delta table: %v", err)
			}
			err := store.WriteFile(ctx, s3out, "patient/_delta_log/00000000000000000000.json", []byte("{}\n"), store.CreateOptions{IfAbsent: true})
			if !errors.Is(err, store.ErrExist) {
				t.Errorf("a second version 0 of a Delta log on S3: %v, want it refused (If-None-Match)", err)
			}
		})
	}
}
