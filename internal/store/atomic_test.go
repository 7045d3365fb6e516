package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestAtomicFileInvisibleUntilCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	f, err := CreateAtomic(path, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if _, err := f.Write([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("final file visible before Commit: %v", err)
	}
	names := entries(t, dir)
	if len(names) != 1 || !IsTemp(names[0]) {
		t.Fatalf("directory before Commit = %q, want one temporary file", names)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "{}\n" {
		t.Errorf("content = %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "out.ndjson" {
		t.Errorf("directory after Commit = %q", names)
	}
	if f.Path() != path {
		t.Errorf("Path() = %q", f.Path())
	}
}

func TestAtomicFileCommitReplacesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "new" {
		t.Errorf("content = %q, want new", got)
	}
}

func TestAtomicFileAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := CreateAtomic(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if got := readFile(t, path); got != "old" {
		t.Errorf("content = %q, want old", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory after Abort = %q", names)
	}
}

func TestAtomicFileAbortAfterCommitIsNoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := CreateAtomic(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "x" {
		t.Errorf("content after Abort = %q", got)
	}
}

func TestAtomicFileUseAfterCommitFails(t *testing.T) {
	f, err := CreateAtomic(filepath.Join(t.TempDir(), "f"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Commit: %v", err)
	}
	if err := f.Commit(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Commit: %v", err)
	}
}

func TestAtomicFileWritesLargeData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 3*writeBufferSize+17)
	for i := range data {
		data[i] = byte(i)
	}
	if err := WriteFileAtomic(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != string(data) {
		t.Errorf("content differs (len %d, want %d)", len(got), len(data))
	}
}

func TestCreateAtomicMissingDirectoryNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "f")
	_, err := CreateAtomic(path, 0o600)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "creating "+path) {
		t.Errorf("err = %v", err)
	}
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{".tmp-a.ndjson-123": true, "a.ndjson": false, ".hidden": false, "x.tmp-": false} {
		if got := IsTemp(name); got != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAtomicFileFailedCommitLeavesTempForAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "taken")
	makeDir(t, path, "a directory is in the way") // rename of a file onto it fails
	f, err := CreateAtomic(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	if err := f.Commit(); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Commit onto a directory: err = %v, want an error naming %s", err, path)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "taken" {
		t.Errorf("directory after Abort = %q, want only the original directory", names)
	}
}

func TestWriteFileNew_NeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.jwks")
	if err := WriteFileNew(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFileNew(path, []byte("second"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("content = %q, want the first write", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", st.Mode().Perm())
	}
}
