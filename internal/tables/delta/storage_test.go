package delta

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// dirStorage is a plain local folder as Storage, for tests over the golden tables.
type dirStorage struct{ root string }

func (d dirStorage) full(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

func (d dirStorage) Location(name string) string { return d.full(name) }

func (d dirStorage) List(_ context.Context, dir string, fn func(string, int64, time.Time) error) error {
	err := filepath.WalkDir(d.full(dir), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.root, p)
		return fn(filepath.ToSlash(rel), info.Size(), info.ModTime())
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d dirStorage) Open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(d.full(name))
}

func (d dirStorage) Delete(_ context.Context, name string) error {
	err := os.Remove(d.full(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d dirStorage) Create(_ context.Context, name string, ifAbsent bool) (ObjectWriter, error) {
	full := d.full(name)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(full), ".tmp-*")
	if err != nil {
		return nil, err
	}
	return &dirWriter{f: f, final: full, ifAbsent: ifAbsent}, nil
}

type dirWriter struct {
	f        *os.File
	final    string
	ifAbsent bool
	done     bool
}

func (w *dirWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *dirWriter) Commit() error {
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.done = true
	defer os.Remove(w.f.Name())
	if w.ifAbsent {
		return os.Link(w.f.Name(), w.final) // fails with ErrExist if the name is taken
	}
	return os.Rename(w.f.Name(), w.final)
}

func (w *dirWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}
