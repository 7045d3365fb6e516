package delta

import (
	"context"
	"io"
	"time"
)

// Storage is what a Delta table needs from where it lives, named by slash-separated paths from
// the storage's root. internal/store's stores provide it; errors follow its contracts (a missing
// object wraps fs.ErrNotExist; a create-if-absent that finds the object wraps fs.ErrExist).
type Storage interface {
	// List calls fn for every object under dir, at any depth, in no particular order.
	List(ctx context.Context, dir string, fn func(name string, size int64, modTime time.Time) error) error
	// Open streams one object.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Create starts an object that appears whole on Commit, or not at all. With ifAbsent, Commit
	// fails (wrapping fs.ErrExist) if the object exists, and never replaces it.
	Create(ctx context.Context, name string, ifAbsent bool) (ObjectWriter, error)
	// Delete removes one object; a missing one is no error.
	Delete(ctx context.Context, name string) error
	// Location names an object for messages.
	Location(name string) string
}

// ObjectWriter receives one object's bytes.
type ObjectWriter interface {
	io.Writer
	// Commit makes the object visible under its name.
	Commit() error
	// Abort discards it; safe after Commit.
	Abort() error
}
