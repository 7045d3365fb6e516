package crawl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// journalRecord is one line of the crawl journal, appended and synced only after every file it
// names is synced: these patients are done, and these files hold their lines up to these sizes.
// A record with Strays says the strays were written out (the crawl's last step).
type journalRecord struct {
	Done       []int            `json:"done,omitempty"`
	Files      map[string]int64 `json:"files,omitempty"`
	MaxUpdated string           `json:"maxUpdated,omitempty"` // newest meta.lastUpdated seen, for the transaction time
	Resources  int64            `json:"resources,omitempty"`  // lines written for these patients
	Strays     bool             `json:"strays,omitempty"`
}

// journal is the crawl's record of finished patients (.cumulus-export/crawl/journal.ndjson):
// what survives a kill -9 is exactly what it records.
type journal struct {
	path string
	f    *os.File
}

// progressState is what a journal says: the patients done (one bit each), the committed size
// of every file, and whether the strays were written.
type progressState struct {
	done       bitset
	doneCount  int
	sizes      map[string]int64
	maxUpdated string
	resources  int64
	straysDone bool
}

// loadJournal reads the journal at path for a cohort of n patients. A last line cut short by a
// crash was never synced, so it is ignored.
func loadJournal(path string, n int) (*progressState, error) {
	st := &progressState{done: newBitset(n), sizes: map[string]int64{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening the crawl journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return st, nil // a line without its newline was being written when the run died
		}
		if err != nil {
			return nil, fmt.Errorf("reading the crawl journal %s: %w", path, err)
		}
		var rec journalRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("the crawl journal %s is corrupt at line %d: %w", path, lineNo, err)
		}
		st.apply(rec)
	}
}

func (st *progressState) apply(rec journalRecord) {
	for _, p := range rec.Done {
		if p >= 0 && p < st.done.len() && !st.done.get(p) {
			st.done.set(p)
			st.doneCount++
		}
	}
	for name, size := range rec.Files {
		st.sizes[name] = max(st.sizes[name], size)
	}
	if rec.MaxUpdated > st.maxUpdated {
		st.maxUpdated = rec.MaxUpdated
	}
	st.resources += rec.Resources
	st.straysDone = st.straysDone || rec.Strays
}

func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the crawl journal: %w", err)
	}
	return &journal{path: path, f: f}, nil
}

// append writes and syncs one record.
func (j *journal) append(rec journalRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding a journal record: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the crawl journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing the crawl journal %s: %w", j.path, err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// reconcile makes DIR hold exactly what the journal vouches for: each crawl file is cut back to
// its committed size (lines of patients that were not finished go), a file the journal does not
// name is removed, and names go on after the highest number found. A file shorter than the
// journal says was changed by someone else: that is an error, not something to paper over.
func reconcile(dir string, st *progressState, names *namer) error {
	sizes := st.sizes
	var found []string
	for _, sub := range []string{".", "error", strayDir} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("listing %s: %w", filepath.Join(dir, sub), err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				found = append(found, filepath.Join(sub, e.Name()))
			}
		}
	}
	for name := range sizes {
		if kind, _, _ := parseDataName(name); kind == kindStray && st.straysDone {
			continue // written out and removed
		}
		if !slices.Contains(found, name) {
			return fmt.Errorf("%s is missing from %s, though the crawl journal records it: the folder was changed; "+
				"start again in an empty folder", name, dir)
		}
	}
	for _, name := range found {
		kind, n, ok := parseDataName(name)
		if !ok {
			continue
		}
		names.seen(kind, n)
		if err := cutBack(filepath.Join(dir, name), sizes[name]); err != nil {
			return err
		}
	}
	return nil
}

// cutBack truncates path to size, or removes it when size is 0.
func cutBack(path string, size int64) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	switch {
	case size == 0:
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("removing %s (not finished when the last run stopped): %w", path, err)
		}
	case st.Size() < size:
		return fmt.Errorf("%s has %d bytes, fewer than the %d the crawl journal records: the folder was changed; "+
			"start again in an empty folder", path, st.Size(), size)
	case st.Size() > size:
		if err := os.Truncate(path, size); err != nil {
			return fmt.Errorf("cutting %s back to what was finished: %w", path, err)
		}
	}
	return nil
}

// bitset is one bit per patient: whether it is done.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64+1) }
func (b bitset) len() int       { return (len(b) - 1) * 64 }
func (b bitset) get(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
