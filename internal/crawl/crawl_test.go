package crawl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/store"
)

// TestCrawl_WritesABulkExportFolder (issue 14 item 1): a crawl writes Type.NNN.ndjson files,
// log.ndjson with the request, the transaction time and the completion, and a finished state,
// which the ETL's folder reader takes as it takes a bulk export.
func TestCrawl_WritesABulkExportFolder(t *testing.T) {
	srv := newServer(t, 12)
	dir := t.TempDir()
	res := mustCrawl(t, options(t, newClient(t, srv), dir))
	got := exported(t, dir)
	if n := count(got); n != 12*perPatientFiltered || res.Resources != int64(n) {
		t.Errorf("%d resources in the folder, %d in the result; want %d", n, res.Resources, 12*perPatientFiltered)
	}
	if d := duplicates(got); len(d) > 0 {
		t.Errorf("written twice: %v", d)
	}
	if err := bulk.CheckFinished(dir); err != nil {
		t.Errorf("finished crawl: %v", err)
	}
	exp, err := input.Scan(context.Background(), store.NewLocal(dir, store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if exp.Log == nil {
		t.Fatalf("log.ndjson unreadable: %v", exp.LogErr)
	}
	if exp.Log.GroupName != "G1" || !exp.Log.TransactionTime.Equal(res.TransactionTime) || !strings.Contains(exp.Log.ExportURL, "_type=") {
		t.Errorf("log says group %q, time %v (want %v), request %q", exp.Log.GroupName, exp.Log.TransactionTime, res.TransactionTime, exp.Log.ExportURL)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, _, ok := parseDataName(e.Name()); !ok && !e.IsDir() && e.Name() != "log.ndjson" {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, failedListName)); err == nil {
		t.Error("a failure list although nothing failed")
	}
}
