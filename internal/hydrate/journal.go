package hydrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// journal is an append-only ndjson file of downloads, under DIR/.cumulus-hydrate. Each download
// is appended with one write as soon as it arrives, so a run killed at any moment (kill -9 too)
// keeps everything it had downloaded; a torn last line is cut off when the journal is opened.
// Only each entry's key and place are held in memory, and only until the entry is taken (its
// note written into the file); entries are read back from disk when needed.
type journal struct {
	path string

	mu    sync.Mutex
	f     *os.File
	size  int64
	index map[string]*span // key → entry
}

// span is where an entry is, and how many lines wait to take it.
type span struct {
	off, n int64
	uses   int
}

// journalEntry is one download: its key, and the bytes (with how to read them).
type journalEntry struct {
	Key       string `json:"key"`
	MediaType string `json:"mediaType,omitempty"`
	Charset   string `json:"charset,omitempty"`
	Body      []byte `json:"body"` // base64 in the file
}

// openJournal opens (creating it and its folder, mode 0700/0600: it holds PHI) the journal at
// path and indexes the entries already in it.
func openJournal(path string) (*journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening journal %s: %w", path, err)
	}
	j := &journal{path: path, f: f, index: map[string]*span{}}
	if err := j.load(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// load indexes every whole entry and truncates what follows the last one (a torn write).
func (j *journal) load() error {
	br := bufio.NewReaderSize(io.NewSectionReader(j.f, 0, 1<<62), 256<<10)
	var off int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var e struct {
				Key string `json:"key"`
			}
			if json.Unmarshal(line, &e) != nil || e.Key == "" {
				break // a damaged entry: drop it and everything after it
			}
			j.index[e.Key] = &span{off: off, n: int64(len(line))}
			off += int64(len(line))
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading journal %s: %w", j.path, err)
		}
		break
	}
	if err := j.f.Truncate(off); err != nil {
		return fmt.Errorf("repairing journal %s: %w", j.path, err)
	}
	j.size = off
	return nil
}

// claim reports whether key was journaled and, if so, reserves the entry for one take.
func (j *journal) claim(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	s, ok := j.index[key]
	if ok {
		s.uses++
	}
	return ok
}

// add appends e with a single write.
func (j *journal) add(e journalEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding journal entry: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.WriteAt(b, j.size); err != nil {
		return fmt.Errorf("writing journal %s: %w", j.path, err)
	}
	uses := 1 // the line that asked for the download takes it
	if old := j.index[e.Key]; old != nil {
		uses += old.uses
	}
	j.index[e.Key] = &span{off: j.size, n: int64(len(b)), uses: uses}
	j.size += int64(len(b))
	return nil
}

// take reads back the entry for key for a line that claimed it (or asked for its download), and
// forgets the entry once no other line waits for it.
func (j *journal) take(key string) (journalEntry, error) {
	e, err := j.get(key)
	j.mu.Lock()
	if s := j.index[key]; s != nil {
		if s.uses--; s.uses <= 0 {
			delete(j.index, key)
		}
	}
	j.mu.Unlock()
	return e, err
}

// get reads back the entry for key.
func (j *journal) get(key string) (journalEntry, error) {
	j.mu.Lock()
	s, ok := j.index[key]
	j.mu.Unlock()
	var e journalEntry
	if !ok {
		return e, fmt.Errorf("journal %s has no entry %q", j.path, key)
	}
	b := make([]byte, s.n)
	if _, err := j.f.ReadAt(b, s.off); err != nil {
		return e, fmt.Errorf("reading journal %s: %w", j.path, err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(b), &e); err != nil {
		return e, fmt.Errorf("journal %s: entry %q: %w", j.path, key, err)
	}
	return e, nil
}

// len counts the journaled entries.
func (j *journal) len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.index)
}

// keys calls fn for every journaled key.
func (j *journal) keys(fn func(string)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for k := range j.index {
		fn(k)
	}
}

// close closes the journal; remove also deletes it (its content is in place now).
func (j *journal) close(remove bool) error {
	err := j.f.Close()
	if remove {
		if rerr := os.Remove(j.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("removing journal %s: %w", j.path, rerr)
		}
	}
	return err
}
