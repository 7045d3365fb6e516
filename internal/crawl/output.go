package crawl

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
)

// maxFileBytes is the size after which a worker starts a new file of a type (at a patient boundary).
const maxFileBytes = 256 << 20

// Kinds of output besides resource types.
const (
	kindOutcome = "error/OperationOutcome" // search.mode=outcome entries, as a bulk export's error files
	kindStray   = "stray"                  // resources that belong to no patient searched (decided at the end)
)

// dataName matches the files a crawl writes into DIR, with the kind and number.
var dataName = regexp.MustCompile(`^((?:error/)?[A-Z][A-Za-z]+)\.([0-9]{3,})\.ndjson$`)

// strayDir holds the stray spill files, relative to DIR.
var strayDir = filepath.Join(".cumulus-export", "crawl", "strays")

// namer hands out file names: Type.NNN.ndjson numbered on from the highest already in DIR.
type namer struct {
	mu   sync.Mutex
	next map[string]int
}

// name returns a new file name for kind, relative to DIR.
func (n *namer) name(kind string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.next[kind]
	n.next[kind] = i + 1
	if kind == kindStray {
		return filepath.Join(strayDir, fmt.Sprintf("%03d.tsv", i))
	}
	return fmt.Sprintf("%s.%03d.ndjson", kind, i)
}

// seen notes an existing file so new names come after it.
func (n *namer) seen(kind string, i int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.next[kind] <= i {
		n.next[kind] = i + 1
	}
}

// outFile is one file a worker appends to.
type outFile struct {
	name  string // relative to DIR
	f     *os.File
	w     *bufio.Writer
	size  int64 // bytes written, buffered ones included
	start int64 // size when the current patient began
	used  bool  // written during the current patient
}

// slot is one worker's set of output files, one per kind: no two workers share a file, so a
// patient's lines are contiguous and can be cut off again when its searches fail.
type slot struct {
	dir   string
	names *namer
	files map[string]*outFile
}

func newSlot(dir string, names *namer) *slot {
	return &slot{dir: dir, names: names, files: map[string]*outFile{}}
}

// begin marks the start of a patient; a file past maxFileBytes is closed so the kind gets a
// new one.
func (s *slot) begin() error {
	for kind, f := range s.files {
		if f.size >= maxFileBytes {
			if err := f.f.Close(); err != nil {
				return fmt.Errorf("closing %s: %w", f.name, err)
			}
			delete(s.files, kind)
			continue
		}
		f.start, f.used = f.size, false
	}
	return nil
}

// write appends one line (without its newline) to the kind's file.
func (s *slot) write(kind string, line []byte) error {
	f := s.files[kind]
	if f == nil {
		name := s.names.name(kind)
		path := filepath.Join(s.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
		}
		fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
		f = &outFile{name: name, f: fh, w: bufio.NewWriterSize(fh, 64<<10)}
		s.files[kind] = f
	}
	f.used = true
	f.w.Write(line)
	if err := f.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("writing %s: %w", f.name, err)
	}
	f.size += int64(len(line)) + 1
	return nil
}

// finish flushes the patient's lines to the files and returns the sizes of the files it wrote
// to (the journal records them once they are synced) and how many bytes it added.
func (s *slot) finish() (sizes map[string]int64, added int64, err error) {
	sizes = map[string]int64{}
	for _, f := range s.files {
		if !f.used {
			continue
		}
		if err := f.w.Flush(); err != nil {
			return nil, 0, fmt.Errorf("writing %s: %w", f.name, err)
		}
		sizes[f.name] = f.size
		added += f.size - f.start
	}
	return sizes, added, nil
}

// undo cuts the patient's lines off again (its searches failed).
func (s *slot) undo() error {
	for _, f := range s.files {
		if !f.used {
			continue
		}
		f.w.Reset(f.f)
		if err := f.f.Truncate(f.start); err != nil {
			return fmt.Errorf("cutting %s back to %d bytes: %w", f.name, f.start, err)
		}
		f.size, f.used = f.start, false
	}
	return nil
}

// close closes every file, removing any left empty.
func (s *slot) close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.w.Flush(), f.f.Close())
		if f.size == 0 {
			errs = append(errs, os.Remove(filepath.Join(s.dir, f.name)))
		}
	}
	s.files = map[string]*outFile{}
	return errors.Join(errs...)
}

// parseDataName returns the kind and number of a crawl data file name relative to DIR.
func parseDataName(name string) (kind string, n int, ok bool) {
	if filepath.Dir(name) == strayDir {
		base := filepath.Base(name)
		i, err := strconv.Atoi(base[:len(base)-len(filepath.Ext(base))])
		return kindStray, i, err == nil && filepath.Ext(base) == ".tsv"
	}
	m := dataName.FindStringSubmatch(filepath.ToSlash(name))
	if m == nil {
		return "", 0, false
	}
	i, _ := strconv.Atoi(m[2])
	return m[1], i, true
}
