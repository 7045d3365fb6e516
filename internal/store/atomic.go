package store

// Atomic writes of local files, used by the Local backend and directly for the export DIR (which
// is always a local folder): a file is written under a temporary name (starting with TempPrefix) in
// its destination folder, fsynced, then renamed into place, and the folder is fsynced so the rename
// itself survives a crash. A reader sees the old complete content or the new complete content.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temporary file or directory made by
// this package; input discovery ignores such names.
const TempPrefix = ".tmp-"

const writeBufferSize = 256 << 10

// IsTemp reports whether a file or directory name (not a path) is a
// temporary name made by this package.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// AtomicFile is written under a temporary name in the same directory as its
// final path and only appears under the final name on Commit.
type AtomicFile struct {
	path string
	tmp  *os.File
	w    *bufio.Writer
	done bool // committed or aborted
}

var _ io.Writer = (*AtomicFile)(nil)

// CreateAtomic starts writing the file at path with permissions perm (applied
// exactly, without the umask). Call Commit to publish it; `defer f.Abort()`
// cleans up on every other path.
func CreateAtomic(path string, perm os.FileMode) (*AtomicFile, error) {
	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, TempPrefix+base+"-*")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	return &AtomicFile{path: path, tmp: tmp, w: bufio.NewWriterSize(tmp, writeBufferSize)}, nil
}

// Path returns the final path the file will have after Commit.
func (f *AtomicFile) Path() string { return f.path }

// Write buffers p for the file. It fails after Commit or Abort.
func (f *AtomicFile) Write(p []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("writing %s: %w", f.path, os.ErrClosed)
	}
	n, err := f.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", f.path, err)
	}
	return n, nil
}

// Commit flushes and fsyncs the file, renames it to its final path (replacing
// any file there) and fsyncs the directory. On error the temporary file is
// left for Abort to remove.
func (f *AtomicFile) Commit() error {
	return f.commit(os.Rename)
}

// CommitNew is Commit that never replaces a file: if path exists (even one created meanwhile) it
// fails with an error wrapping fs.ErrExist and leaves the temporary file for Abort.
func (f *AtomicFile) CommitNew() error {
	err := f.commit(os.Link)
	if err == nil {
		_ = os.Remove(f.tmp.Name())
	}
	return err
}

// commit flushes, fsyncs and closes the temporary file, then moves it into place with place.
func (f *AtomicFile) commit(place func(from, to string) error) error {
	if f.done {
		return fmt.Errorf("committing %s: %w", f.path, os.ErrClosed)
	}
	if err := f.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.path, err)
	}
	if err := f.tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.path, err)
	}
	if err := place(f.tmp.Name(), f.path); err != nil {
		return fmt.Errorf("committing %s: %w", f.path, err)
	}
	f.done = true
	return syncDir(filepath.Dir(f.path))
}

// Abort discards the temporary file. It does nothing after a successful
// Commit or a previous Abort, so it is safe to defer.
func (f *AtomicFile) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	closeErr := f.tmp.Close()
	if err := os.Remove(f.tmp.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing temporary file for %s: %w", f.path, err)
	}
	if closeErr != nil && !errors.Is(closeErr, os.ErrClosed) {
		return fmt.Errorf("closing %s: %w", f.path, closeErr)
	}
	return nil
}

// WriteFileAtomic writes data to path with permissions perm, atomically:
// either the old content or all of data is visible, even after a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, (*AtomicFile).Commit)
}

// WriteFileNew is WriteFileAtomic for a file that must not exist yet: an existing file is never
// replaced, and the error then wraps fs.ErrExist.
func WriteFileNew(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, (*AtomicFile).CommitNew)
}

func writeFile(path string, data []byte, perm os.FileMode, commit func(*AtomicFile) error) error {
	f, err := CreateAtomic(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return commit(f)
}

// RenameSynced renames from to to and fsyncs the destination folder, so the rename survives a crash.
func RenameSynced(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("renaming %s: %w", from, err)
	}
	return syncDir(filepath.Dir(to))
}

// Sync fsyncs the file or folder at path: a file's data, or a folder's renames and removals.
func Sync(path string) error { return syncDir(path) }

// syncDir fsyncs a directory so that renames and removals in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
