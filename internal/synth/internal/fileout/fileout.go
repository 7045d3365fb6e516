// Package fileout creates output files atomically: bytes go to a temporary file beside the target,
// which is flushed, fsynced and renamed into place by Commit, so no reader ever sees half a file.
// A target whose name ends in ".gz" is gzip-compressed transparently.
package fileout

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// File is an output file being written; Write takes uncompressed bytes.
type File struct {
	path    string
	tmp     *os.File
	gz      *gzip.Writer
	buf     *bufio.Writer
	written int64
	done    bool
}

// Create starts writing path (creating its parent directory), compressing at the default gzip
// level when path ends in ".gz".
func Create(path string) (*File, error) { return CreateLevel(path, gzip.DefaultCompression) }

// CreateLevel is Create with a gzip compression level (gzip.BestSpeed ... gzip.BestCompression).
func CreateLevel(path string, level int) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating temp file for %s: %w", path, err)
	}
	f := &File{path: path, tmp: tmp}
	var w io.Writer = tmp
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewWriterLevel(tmp, level)
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			return nil, fmt.Errorf("creating %s: %w", path, err)
		}
		f.gz, w = gz, gz
	}
	f.buf = bufio.NewWriterSize(w, 256<<10)
	return f, nil
}

// Write appends uncompressed bytes to the file.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.buf.Write(p)
	f.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", f.path, err)
	}
	return n, nil
}

// Written returns the number of uncompressed bytes written so far.
func (f *File) Written() int64 { return f.written }

// Commit flushes, fsyncs and renames the file into place. After Commit, Abort is a no-op.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("committing %s: already finished", f.path)
	}
	err := f.buf.Flush()
	if err == nil && f.gz != nil {
		err = f.gz.Close()
	}
	if err == nil {
		err = f.tmp.Sync()
	}
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp.Name(), f.path)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("finishing %s: %w", f.path, err)
	}
	f.done = true
	return nil
}

// Abort discards the temporary file; the target is left untouched. Safe to call more than once.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	_ = f.tmp.Close()
	_ = os.Remove(f.tmp.Name())
}
