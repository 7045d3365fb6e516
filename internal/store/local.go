package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Local is a Store in a folder of the local file system, made (with its parents) when first
// written. Writes are temporary file + fsync + rename (+ fsync of the folder); IfAbsent links the
// finished temporary file into place, which fails if the name exists, as O_EXCL does.
type Local struct {
	root              string
	fileMode, dirMode os.FileMode
}

var _ Store = (*Local)(nil)

// NewLocal returns the store rooted at the folder root.
func NewLocal(root string, opts Options) *Local {
	l := &Local{root: filepath.Clean(root), fileMode: 0o644, dirMode: 0o755}
	if opts.Private {
		l.fileMode, l.dirMode = 0o600, 0o700
	}
	return l
}

// Root returns the folder the store is rooted at.
func (l *Local) Root() string { return l.root }

// Location implements Store: the file's path.
func (l *Local) Location(name string) string {
	if name == "" {
		return l.root
	}
	return filepath.Join(l.root, filepath.FromSlash(name))
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, name string) (Info, error) {
	if err := l.check(ctx, name); err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(l.Location(name))
	if err != nil {
		return Info{}, err
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%s is not a regular file", l.Location(name))
	}
	return Info{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Open implements Store.
func (l *Local) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return l.OpenRange(ctx, name, 0, -1)
}

// OpenRange implements Store.
func (l *Local) OpenRange(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := l.check(ctx, name); err != nil {
		return nil, err
	}
	f, err := os.Open(l.Location(name))
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a folder, not a file", l.Location(name))
	}
	var r io.Reader = f
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("reading %s: %w", l.Location(name), err)
		}
	}
	if length >= 0 {
		r = io.LimitReader(f, length)
	}
	return &ctxReader{ctx: ctx, r: r, c: f}, nil
}

// List implements Store. Symbolic links are followed, to files and to folders (a folder or file
// reached twice, through a link or a link loop, is listed once: first in name order); a link to
// nothing is listed with Info.Err set.
func (l *Local) List(ctx context.Context, dir string, fn func(Info) error) error {
	if dir != "" {
		if err := checkName(dir); err != nil {
			return err
		}
	}
	w := &localWalk{ctx: ctx, root: l.root, fn: fn, seen: map[string]bool{}}
	err := w.walk(l.Location(dir), dir)
	if errors.Is(err, fs.ErrNotExist) {
		if !w.opened {
			return nil // a folder missing when the listing began lists nothing, even if another run creates it now
		}
		if _, statErr := os.Stat(l.Location(dir)); errors.Is(statErr, fs.ErrNotExist) {
			return nil // a missing folder lists nothing
		}
	}
	return err
}

// localWalk walks a local folder tree for List.
type localWalk struct {
	ctx    context.Context
	root   string
	fn     func(Info) error
	seen   map[string]bool // real paths of the folders and files visited
	opened bool            // the listed folder itself was read
}

// walk lists the folder at path, named name ("" for the root), in name order.
func (w *localWalk) walk(path, name string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	if w.seen[real] {
		return nil
	}
	w.seen[real] = true
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("listing %s: %w", path, err)
	}
	w.opened = true
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		p, n := filepath.Join(path, e.Name()), e.Name()
		if name != "" {
			n = name + "/" + e.Name()
		}
		if err := w.entry(e, p, n, filepath.Join(real, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// entry lists one folder entry; realPath is its path with the folder's links resolved.
func (w *localWalk) entry(e fs.DirEntry, path, name, realPath string) error {
	fi, err := os.Stat(path) // follows a symbolic link
	switch {
	case errors.Is(err, fs.ErrNotExist) && e.Type()&fs.ModeSymlink != 0:
		return w.fn(Info{Name: name, Err: fmt.Errorf("a link to nothing (%w)", err)})
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed while listed (a temporary file committed meanwhile, say)
	case err != nil:
		return fmt.Errorf("listing %s: %w", path, err)
	case fi.IsDir():
		if err := w.walk(path, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err // (a folder removed while listed is skipped)
		}
		return nil
	case !fi.Mode().IsRegular():
		return nil // a device or a pipe holds no data
	}
	if e.Type()&fs.ModeSymlink != 0 {
		if realPath, err = filepath.EvalSymlinks(path); err != nil {
			return fmt.Errorf("listing %s: %w", path, err)
		}
	}
	if w.seen[realPath] {
		return nil
	}
	w.seen[realPath] = true
	return w.fn(Info{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
}

// Create implements Store.
func (l *Local) Create(ctx context.Context, name string, opts CreateOptions) (Writer, error) {
	if err := l.check(ctx, name); err != nil {
		return nil, err
	}
	return l.createAt(l.Location(name), opts)
}

func (l *Local) createAt(path string, opts CreateOptions) (Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), l.dirMode); err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	f, err := CreateAtomic(path, l.fileMode)
	if err != nil {
		return nil, err
	}
	return &localWriter{AtomicFile: f, ifAbsent: opts.IfAbsent}, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, name string) error {
	if err := l.check(ctx, name); err != nil {
		return err
	}
	if err := os.Remove(l.Location(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (l *Local) check(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return checkName(name)
}

type localWriter struct {
	*AtomicFile
	ifAbsent bool
}

func (w *localWriter) Commit() error {
	if w.ifAbsent {
		return w.CommitNew()
	}
	return w.AtomicFile.Commit()
}

// Temporary copies of folders being replaced live in ControlDir/tmp, named after the folder
// (escaped) with one of these infixes and a random suffix.
const (
	stageInfix = ".stage-"
	oldInfix   = ".old-"
)

func (l *Local) tmpDir() string { return filepath.Join(l.root, ControlDir, "tmp") }

// tmpGlob lists the temporary copies of dir with the given infix.
func (l *Local) tmpGlob(dir, infix string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(globEscape(l.tmpDir()), globEscape(url.PathEscape(dir)+infix)+"*"))
	if err != nil {
		return nil, fmt.Errorf("looking for temporary copies of %s: %w", l.Location(dir), err)
	}
	return matches, nil
}

// Stage implements Store.
func (l *Local) Stage(ctx context.Context, dir string) (Stage, error) {
	if err := l.check(ctx, dir); err != nil {
		return nil, err
	}
	if err := l.recover(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.tmpDir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", l.tmpDir(), err)
	}
	staging, err := os.MkdirTemp(l.tmpDir(), url.PathEscape(dir)+stageInfix+"*")
	if err != nil {
		return nil, fmt.Errorf("creating a staging folder for %s: %w", l.Location(dir), err)
	}
	if err := os.Chmod(staging, l.dirMode); err != nil {
		os.Remove(staging)
		return nil, fmt.Errorf("creating a staging folder for %s: %w", l.Location(dir), err)
	}
	return &localStage{l: l, dir: dir, staging: staging}, nil
}

// recover removes what a crashed run left while replacing dir (its staging folder, an old copy
// beside a complete dir) and puts back an old copy when the crash came between the two renames.
// It also clears the names earlier versions of this program used: <dir>.old-* beside dir and
// .tmp-<dir>-* in dir's parent.
func (l *Local) recover(dir string) error {
	dst := l.Location(dir)
	stages, err := l.tmpGlob(dir, stageInfix)
	if err != nil {
		return err
	}
	legacyStages, _ := filepath.Glob(filepath.Join(globEscape(filepath.Dir(dst)), TempPrefix+globEscape(filepath.Base(dst))+"-*"))
	for _, s := range append(stages, legacyStages...) {
		if err := os.RemoveAll(s); err != nil {
			return fmt.Errorf("removing a crashed run's staging folder %s: %w", s, err)
		}
	}
	olds, err := l.oldCopies(dir)
	if err != nil {
		return err
	}
	return recoverDir(dst, olds)
}

// oldCopies lists the copies of dir moved aside by a replacement that has not finished.
func (l *Local) oldCopies(dir string) ([]string, error) {
	olds, err := l.tmpGlob(dir, oldInfix)
	if err != nil {
		return nil, err
	}
	legacy, _ := filepath.Glob(globEscape(l.Location(dir)) + oldInfix + "*")
	return append(olds, legacy...), nil
}

// ReadDir implements Store. When a crash left dir missing and one old copy of it, that copy is
// listed (its names open as they are): the previous version stays readable until recovery.
func (l *Local) ReadDir(ctx context.Context, dir string) ([]Info, error) {
	if err := l.check(ctx, dir); err != nil {
		return nil, err
	}
	path := l.Location(dir)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		olds, err := l.oldCopies(dir)
		if err != nil {
			return nil, err
		}
		if len(olds) != 1 {
			return nil, nil
		}
		path = olds[0]
	}
	entries, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := os.Stat(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		rel, err := filepath.Rel(l.root, filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Info{Name: filepath.ToSlash(rel), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

type localStage struct {
	l            *Local
	dir, staging string
	done         bool
}

func (s *localStage) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.staging, filepath.FromSlash(name)), nil
}

func (s *localStage) Create(name string) (Writer, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	return s.l.createAt(p, CreateOptions{})
}

func (s *localStage) Open(name string) (io.ReadCloser, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (s *localStage) Delete(name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *localStage) Publish() error {
	if s.done {
		return fmt.Errorf("publishing %s: %w", s.l.Location(s.dir), os.ErrClosed)
	}
	dst := s.l.Location(s.dir)
	if err := os.MkdirAll(filepath.Dir(dst), s.l.dirMode); err != nil {
		return fmt.Errorf("publishing %s: %w", dst, err)
	}
	old := filepath.Join(filepath.Dir(s.staging), strings.Replace(filepath.Base(s.staging), stageInfix, oldInfix, 1))
	if err := replaceDir(s.staging, dst, old, os.Rename); err != nil {
		return err
	}
	s.done = true
	return nil
}

func (s *localStage) Discard() error {
	if s.done {
		return nil
	}
	s.done = true
	return os.RemoveAll(s.staging)
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	c   io.Closer
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *ctxReader) Close() error { return r.c.Close() }

// CheckFolder checks that the root of a store to be read exists: a local folder, or an S3 prefix
// holding at least one object (S3 has no empty folders; a mistyped prefix holds nothing).
func CheckFolder(ctx context.Context, s Store) error {
	if s3, ok := s.(*S3); ok {
		return s3.checkExists(ctx)
	}
	l, ok := s.(*Local)
	if !ok {
		return nil
	}
	fi, err := os.Stat(l.root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", l.root)
	}
	return nil
}
