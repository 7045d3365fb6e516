package input

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/store"
)

// writeTree creates files (relative path → content) under a new temporary
// root and returns it. Content of files ending in .gz is gzipped.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		data := []byte(content)
		if strings.HasSuffix(strings.ToLower(rel), ".gz") {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(data)
			w.Close()
			data = b.Bytes()
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// lines joins JSON rows into ndjson content.
func lines(rows ...string) string { return strings.Join(rows, "\n") + "\n" }

// rel returns the paths of files relative to root, with forward slashes.
func rel(t *testing.T, root string, files []File) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		r, err := filepath.Rel(root, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(r))
	}
	return out
}

// checkErr fails unless err contains want ("" means no error expected).
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	return true
}

// scanDir scans the local folder root.
func scanDir(t *testing.T, root string) (*Export, error) {
	t.Helper()
	return Scan(context.Background(), store.NewLocal(root, store.Options{}))
}

// localFile is the File rel of the local folder root.
func localFile(root, rel string) File {
	s := store.NewLocal(root, store.Options{})
	return File{Name: rel, Path: s.Location(rel), store: s}
}

// topNames lists the names at the top of the folder root.
func topNames(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
