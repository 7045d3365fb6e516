package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"cumulus-etl/internal/cli/clitest"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/store/s3test"
	"cumulus-etl/internal/tables"
	"cumulus-etl/internal/tables/parquetfile"
)

// deltaRowCount counts a Delta table's live rows in a store, through our log reader.
func deltaRowCount(t *testing.T, s store.Store, table string) int64 {
	t.Helper()
	ctx := context.Background()
	live, err := (&tables.Delta{Store: s}).LiveFiles(ctx, table)
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	var n int64
	for _, name := range live {
		rc, err := s.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := os.CreateTemp(t.TempDir(), "*.parquet")
		size, _ := io.Copy(f, rc)
		rc.Close()
		pf, err := parquetfile.Open(f, size)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n += pf.NumRows()
		f.Close()
	}
	return n
}

// Issue 7, item 4 on S3: Delta commits go through the store's create-if-absent (If-None-Match on
// S3), so the default format writes, and upserts into, tables in a bucket as it does locally.
func TestS3_DeltaTablesInABucketMatchTheLocalRun(t *testing.T) {
	srv := s3test.Shared(t)
	srv.Setenv(t)
	bucket := "s3://" + srv.Bucket(t)
	sample := inputtest.SampleExport(t)
	local := t.TempDir()
	if r := clitest.Run(t, "", sample, filepath.Join(local, "out"), filepath.Join(local, "phi")); r.Code != 0 {
		t.Fatalf("local run: %d\n%s", r.Code, r.Stderr)
	}
	for run := range 2 { // the second run upserts the same rows: same counts, version 1
		if r := clitest.Run(t, "", sample, bucket+"/out", bucket+"/phi"); r.Code != 0 {
			t.Fatalf("run %d on S3: %d\n%s", run, r.Code, r.Stderr)
		}
	}
	s3out, localOut := openStore(t, bucket+"/out"), store.NewLocal(filepath.Join(local, "out"), store.Options{})
	for _, table := range []string{"patient", "condition", "encounter", "observation", "etl__completion_encounters"} {
		want, got := deltaRowCount(t, localOut, table), deltaRowCount(t, s3out, table)
		if want == 0 || got != want {
			t.Errorf("%s: %d rows on S3, %d locally", table, got, want)
		}
	}
	if _, err := s3out.Stat(context.Background(), "patient/_delta_log/00000000000000000001.json"); err != nil {
		t.Errorf("the second run did not commit version 1 on S3: %v", err)
	}
}
