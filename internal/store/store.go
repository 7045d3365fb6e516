// Package store holds every byte of INPUT, OUTPUT and PHI: one small interface, Store, with a
// local-folder backend (Local) and an object-store backend, so that no other package opens, lists,
// renames or removes a file of those folders itself. (The export DIR of `export` and `--export-to`
// stays a plain local folder and uses AtomicFile directly.)
//
// A Store is a tree of objects named by slash-separated paths relative to its root
// ("condition/condition.000.ndjson"); there are no directories to create, and a folder exists while
// an object is under it. Open from a location with Open ("/data/out" or "s3://bucket/out").
//
// Contracts every backend keeps (the tests in this package run against each):
//   - Reads stream: Open and OpenRange never load an object whole (ranges serve Parquet footers).
//   - Writes are atomic: an object written with Create appears whole on Commit or not at all, even
//     after a crash. Locally that is a temporary file, fsync and rename; on S3 one PUT or one
//     multipart upload completed at once, with memory bounded by a few part buffers.
//   - Create with IfAbsent never replaces an object: O_EXCL semantics locally (a hard link of the
//     finished temporary file), `If-None-Match: *` on S3; the loser gets an error wrapping ErrExist.
//     The codebook, lock objects and Delta commits rely on it.
//   - A missing object is an error wrapping ErrNotExist (fs.ErrNotExist); Delete of a missing one
//     is not an error.
//   - Any other error may be transient (the S3 backend has already retried throttling, 5xx and
//     broken connections with backoff): a caller may retry a whole call, never half of a Writer.
//   - Error messages name the object by its Location and carry no credential or signed URL.
//
// Folders of files that are replaced as a whole (ndjson and Parquet tables) go through Stage and
// ReadDir: a reader using ReadDir never sees a mix of two versions. See Stage for each backend's
// guarantee, and Acquire (lock.go) for the run locks built on IfAbsent.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Errors a caller may branch on (with errors.Is).
var (
	// ErrNotExist: the object is missing.
	ErrNotExist = fs.ErrNotExist
	// ErrExist: Create with IfAbsent found the object already there.
	ErrExist = fs.ErrExist
	// ErrAccess: the object store refused our credentials or permissions (or there were none).
	ErrAccess = errors.New("access denied")
	// ErrUnreachable: the object store could not be reached, after retries.
	ErrUnreachable = errors.New("storage unreachable")
)

// ControlDir is the hidden folder at a store's root that holds what is ours and no table: run locks
// and the temporary copies of folders being replaced. Readers that glob for tables never see it.
const ControlDir = ".cumulus-etl"

// Info describes one object.
type Info struct {
	Name    string // slash-separated, relative to the store's root
	Size    int64  // bytes
	ModTime time.Time
	Err     error // set when the entry cannot be read (locally: a symbolic link to nothing)
}

// Store is one folder tree (INPUT, OUTPUT, PHI or --errors-to), local or remote.
type Store interface {
	// Location names the object for messages and job records ("/data/out/x" or
	// "s3://bucket/out/x"); Location("") names the root. It never holds a credential.
	Location(name string) string

	// Stat describes one object. A missing object wraps ErrNotExist; may be retried.
	Stat(ctx context.Context, name string) (Info, error)

	// Open streams one object from its start. A missing object wraps ErrNotExist. The reader
	// honours ctx; a failed read may be retried by opening again.
	Open(ctx context.Context, name string) (io.ReadCloser, error)

	// OpenRange streams length bytes from offset (length < 0: to the end). A range past the end
	// gives what exists, possibly nothing. Otherwise as Open.
	OpenRange(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error)

	// List calls fn for every object under dir ("" for the whole store) at any depth, in no
	// particular order; fn's error stops the walk and is returned. A missing dir lists nothing.
	// Locally symbolic links are followed, to files and folders, each file listed once however
	// many links reach it, and a link to nothing is listed with Info.Err set. May be retried (fn
	// must then be idempotent).
	List(ctx context.Context, dir string, fn func(Info) error) error

	// Create starts writing an object; nothing is visible under name until the Writer commits.
	// The Writer keeps ctx for its network calls.
	Create(ctx context.Context, name string, opts CreateOptions) (Writer, error)

	// Delete removes one object; a missing one is no error. Idempotent: may be retried.
	Delete(ctx context.Context, name string) error

	// Stage starts a new version of the folder dir, replaced as a whole by Stage.Publish. The
	// caller must hold the lock that guards dir (see Acquire): Stage first finishes or undoes a
	// replacement that a crashed run left, and removes that run's staging files.
	Stage(ctx context.Context, dir string) (Stage, error)

	// ReadDir lists the files of the current version of a folder replaced through Stage (or written
	// by hand: its plain files), without hidden names, sorted by name; Info.Name can be given to
	// Open. A missing folder lists nothing. It changes nothing, so it needs no lock.
	ReadDir(ctx context.Context, dir string) ([]Info, error)
}

// CreateOptions tune Create.
type CreateOptions struct {
	// IfAbsent makes Commit fail with ErrExist when the object exists, instead of replacing it.
	IfAbsent bool
}

// Writer receives the content of one object.
type Writer interface {
	io.Writer
	// Commit makes the whole object visible under its name (replacing an older one unless
	// IfAbsent). After an error nothing new is visible; call Abort.
	Commit() error
	// Abort discards what was written. It does nothing after Commit, so it is safe to defer.
	Abort() error
}

// Stage is a new version of a folder, invisible to readers until Publish.
//
// Local: the files go to a folder under ControlDir on the same file system; Publish renames the old
// folder away and the new one into place (two renames, fsynced), so a reader sees the old version
// or the new one; a crash between the renames is undone by the next Stage or seen through by
// ReadDir. The folder's files keep their names (Cumulus ETL's layout).
type Stage interface {
	// Create starts writing a file of the new version, by its name inside the folder.
	Create(name string) (Writer, error)
	// Open reads back a file already committed to the new version.
	Open(name string) (io.ReadCloser, error)
	// Delete removes a file from the new version; a missing one is no error.
	Delete(name string) error
	// Publish replaces the folder's current version with this one, files not written here
	// included (they disappear).
	Publish() error
	// Discard removes the new version; the current one stays. Safe to defer after Publish.
	Discard() error
}

// Options configure the stores Open makes.
type Options struct {
	// Private makes a local store create its files 0600 and folders 0700 (PHI, --errors-to);
	// otherwise 0644 and 0755.
	Private bool
	// S3Region is the AWS region of s3:// locations; "" means the AWS configuration's, else us-east-1.
	S3Region string
	// S3KMSKey, when set, has S3 encrypt every object written with this KMS key (SSE-KMS).
	S3KMSKey string
}

// ErrUnsupported is returned by Open for a location whose scheme no backend handles.
var ErrUnsupported = errors.New("unsupported storage location")

// Open returns the store for a location: a local folder path (made when first written) or an
// s3://BUCKET/PREFIX URL.
func Open(ctx context.Context, location string, opts Options) (Store, error) {
	if strings.HasPrefix(location, "s3://") {
		return openS3(ctx, location, opts)
	}
	if scheme, _, ok := strings.Cut(location, "://"); ok {
		return nil, fmt.Errorf("%w: %s:// (use a local folder or s3://)", ErrUnsupported, scheme)
	}
	return NewLocal(location, opts), nil
}

// IsRemote reports whether location names an object store rather than a local folder.
func IsRemote(location string) bool { return strings.Contains(location, "://") }

// ReadFile reads a whole small object (a codebook, a job config), refusing one larger than max
// bytes so that a wrong name cannot fill memory.
func ReadFile(ctx context.Context, s Store, name string, max int64) ([]byte, error) {
	r, err := s.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Location(name), err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", s.Location(name), max)
	}
	return data, nil
}

// WriteFile writes data as the object name, atomically.
func WriteFile(ctx context.Context, s Store, name string, data []byte, opts CreateOptions) error {
	w, err := s.Create(ctx, name, opts)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Commit()
}

// Join joins name parts with slashes, as store names are.
func Join(parts ...string) string { return path.Join(parts...) }

// checkName refuses names that would leave the store's root or that are not in clean form.
func checkName(name string) error {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("invalid object name %q", name)
	}
	return nil
}
