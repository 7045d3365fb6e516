package bulk

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"cumulus-etl/internal/redact"
	"cumulus-etl/internal/store"
)

// stateDirName is the hidden folder inside DIR holding the resume state, the journal and partial
// downloads. Readers of DIR should skip dot-folders.
const stateDirName = ".cumulus-export"

// savedState is DIR/.cumulus-export/state.json: written before polling starts (KO-36) and
// updated when the export completes, so a rerun re-attaches instead of kicking off again.
type savedState struct {
	Mode            string `json:"mode,omitempty"` // "" for a bulk export, ModeCrawl for a crawl
	StatusURL       string `json:"statusUrl"`
	ExportURL       string `json:"exportUrl"`
	Complete        bool   `json:"complete,omitempty"` // every file downloaded and verified
	Deleted         bool   `json:"deleted,omitempty"`  // the status URL was DELETEd
	TransactionTime string `json:"transactionTime,omitempty"`
	Unfinished      string `json:"unfinished,omitempty"` // what is left to do, when not Complete (a crawl's failed patients)
}

func stateDir(dir string) string { return filepath.Join(dir, stateDirName) }

func loadState(dir string) (*savedState, error) {
	b, err := os.ReadFile(filepath.Join(stateDir(dir), "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading saved export state: %w", err)
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("saved export state %s is corrupt: %w", filepath.Join(stateDir(dir), "state.json"), err)
	}
	return &s, nil
}

// SavedStatusURL returns the status URL of the export saved in dir, or "" when dir holds none.
func SavedStatusURL(dir string) (string, error) {
	s, err := loadState(dir)
	if err != nil || s == nil {
		return "", err
	}
	return s.StatusURL, nil
}

// ErrUnfinished means a folder holds an export of ours that has not finished downloading.
var ErrUnfinished = errors.New("the export in this folder has not finished")

// CheckFinished returns an error wrapping ErrUnfinished when dir holds an export of ours that was
// started but not completed, so nobody loads half an export as if it were whole. A folder made by
// another tool (no saved state) passes.
func CheckFinished(dir string) error {
	s, err := loadState(dir)
	if err != nil || s == nil || s.Complete {
		return err
	}
	if s.Mode == ModeCrawl {
		return fmt.Errorf("%w: %s holds a crawl that has not finished%s; run the same command again to finish it",
			ErrUnfinished, dir, parenthesized(s.Unfinished))
	}
	return fmt.Errorf("%w: %s; run the same `cumulus-etl export` command again to finish it "+
		"(status URL %s)", ErrUnfinished, dir, redact.URL(s.StatusURL))
}

func saveState(dir string, s *savedState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding export state: %w", err)
	}
	if err := os.MkdirAll(stateDir(dir), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", stateDir(dir), err)
	}
	return store.WriteFileAtomic(filepath.Join(stateDir(dir), "state.json"), b, 0o600)
}

// sameExport reports whether two kick-off URLs ask for the same export: the same endpoint and
// the same parameters, whatever the order of parameters and of comma-separated values. A saved
// state without a URL matches anything.
func sameExport(saved, requested string) bool {
	if saved == "" {
		return true
	}
	a, errA := url.Parse(saved)
	b, errB := url.Parse(requested)
	if errA != nil || errB != nil {
		return saved == requested
	}
	norm := func(u *url.URL) string {
		var parts []string
		for k, vs := range u.Query() {
			for _, v := range vs {
				for _, one := range strings.Split(v, ",") {
					parts = append(parts, k+"="+one)
				}
			}
		}
		slices.Sort(parts)
		return u.Scheme + "://" + u.Host + u.Path + "?" + strings.Join(slices.Compact(parts), "&")
	}
	return norm(a) == norm(b)
}

// journalEntry records one completed file (path relative to DIR): its size and a checksum, under
// the name of its algorithm. Downloads record CRC-32C; journals of earlier versions, and files
// rewritten through KeepRewritten, record SHA-256. Both are still verified (see verifyFile).
type journalEntry struct {
	File      string `json:"file"`
	Size      int64  `json:"size"`
	CRC32C    string `json:"crc32c,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Resources int64  `json:"resources"`
}

// journal is the append-only list of completed files, DIR/.cumulus-export/journal.jsonl. A file is
// journaled only after its rename is durable, so a journaled file is always whole.
type journal struct {
	mu     sync.Mutex
	dir    string
	f      *os.File // open from the first record to close
	done   map[string]journalEntry
	listed []string // every file the journal names, verified or not
}

// openJournal loads the journal and keeps only entries whose file still has the recorded size
// and checksum; anything else will be downloaded again.
func openJournal(dir string) (*journal, error) {
	j := &journal{dir: dir, done: map[string]journalEntry{}}
	f, err := os.Open(filepath.Join(stateDir(dir), "journal.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening export journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		var e journalEntry
		if len(line) > 0 && line[len(line)-1] == '\n' && json.Unmarshal(line, &e) == nil {
			j.listed = append(j.listed, e.File)
			if verifyFile(filepath.Join(dir, e.File), e) {
				j.done[e.File] = e
			}
		}
		if err == io.EOF {
			return j, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading export journal: %w", err)
		}
	}
}

// verifyFile reports whether the file at path is still the one e records: its size and every
// checksum e names. An entry that names no checksum this version knows never matches, so its
// file is downloaded again rather than trusted.
func verifyFile(path string, e journalEntry) bool {
	if e.CRC32C == "" && e.SHA256 == "" {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != e.Size {
		return false
	}
	crc, sha := newFileChecksum(), sha256.New()
	var sums []io.Writer
	if e.CRC32C != "" {
		sums = append(sums, crc)
	}
	if e.SHA256 != "" {
		sums = append(sums, sha)
	}
	n, err := io.Copy(io.MultiWriter(sums...), f)
	return err == nil && n == e.Size &&
		(e.CRC32C == "" || hex.EncodeToString(crc.Sum(nil)) == e.CRC32C) &&
		(e.SHA256 == "" || hex.EncodeToString(sha.Sum(nil)) == e.SHA256)
}

// complete returns the entry for a file already downloaded.
func (j *journal) complete(file string) (journalEntry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.done[file]
	return e, ok
}

// unverified lists the files the journal names whose content no longer matches it (removed or
// changed since they were downloaded).
func (j *journal) unverified() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, name := range j.listed {
		if _, ok := j.done[name]; !ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// record appends entries with one write and fsyncs the journal.
func (j *journal) record(entries ...journalEntry) error {
	var b []byte
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding journal entry: %w", err)
		}
		b = append(append(b, line...), '\n')
	}
	var err error
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		if j.f, err = os.OpenFile(filepath.Join(stateDir(j.dir), "journal.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return fmt.Errorf("opening export journal: %w", err)
		}
	}
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("writing export journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing export journal: %w", err)
	}
	for _, e := range entries {
		j.done[e.File] = e
	}
	return nil
}

// close closes the journal file; a later record opens it again.
func (j *journal) close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closeFile()
}

func (j *journal) closeFile() {
	if j.f != nil {
		_ = j.f.Close()
		j.f = nil
	}
}

// discard removes every file the journal names, the journal itself and any partial downloads:
// they belong to an export other than the one now attached (cancelled, or replaced by --resume
// of another status URL), and must neither be kept as its files nor be left beside them.
func (j *journal) discard() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closeFile()
	for _, name := range j.listed {
		if !filepath.IsLocal(name) {
			continue
		}
		if err := os.Remove(filepath.Join(j.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s of an earlier export: %w", name, err)
		}
	}
	for _, p := range []string{filepath.Join(stateDir(j.dir), "journal.jsonl"), filepath.Join(stateDir(j.dir), "parts")} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("removing %s of an earlier export: %w", p, err)
		}
	}
	j.done, j.listed = map[string]journalEntry{}, nil
	return nil
}
