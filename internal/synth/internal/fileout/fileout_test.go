package fileout

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitPublishesAndAbortLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool
	}{{"x.ndjson", true}, {"x.ndjson.gz", true}, {"y.ndjson", false}} {
		dir := t.TempDir()
		path := filepath.Join(dir, "sub", tc.name)
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("hello\n")); err != nil || f.Written() != 6 {
			t.Fatalf("%s: Write: %v, written %d", tc.name, err, f.Written())
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: visible before Commit", tc.name)
		}
		if !tc.commit {
			f.Abort()
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
				t.Errorf("%s: Abort left %v", tc.name, entries)
			}
			continue
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		f.Abort() // no-op after Commit
		if got := readBack(t, path); got != "hello\n" {
			t.Errorf("%s: read back %q", tc.name, got)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("%s: temp files left: %v", tc.name, entries)
		}
	}
}

func readBack(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var r io.Reader = raw
	if filepath.Ext(path) == ".gz" {
		if r, err = gzip.NewReader(raw); err != nil {
			t.Fatalf("%s is not gzip: %v", path, err)
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateLevelRejectsBadLevel(t *testing.T) {
	if _, err := CreateLevel(filepath.Join(t.TempDir(), "a.gz"), 42); err == nil {
		t.Error("gzip level 42 accepted")
	}
}
