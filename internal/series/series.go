// Package series keeps successive exports of one request in subfolders of one folder, for
// --since auto: the next export asks only for what changed since the transaction time of the
// last completed one, whether it was a bulk export or a crawl. An export that did not finish
// is gone on with by the same command, with the time window it started with.
package series

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/store"
)

// ErrNotASeries means the folder cannot hold a series: it is an export itself, or holds other files.
var ErrNotASeries = errors.New("not a folder of exports")

// Entry is what a series records about one of its exports, in the export's state folder.
type Entry struct {
	Request  string `json:"request"`            // the request without its time window (bulk.SameRequest compares them)
	Since    string `json:"since,omitempty"`    // the window's start: the transaction time of Previous
	Previous string `json:"previous,omitempty"` // the subfolder of the export Since comes from
}

// Next is where and how the next export of a request goes.
type Next struct {
	Folder   string // the export folder: a new subfolder, or the unfinished one to go on with
	Resuming bool   // Folder holds an unfinished export of this request
	Entry    Entry
}

// entryFile is where an export records its Entry.
func entryFile(folder string) string { return filepath.Join(bulk.StateFolder(folder), "series.json") }

// Plan finds, among the subfolders of dir, the exports of request (mode aside, time window
// aside): an unfinished one newer than every completed one is gone on with; otherwise a new
// subfolder is named after now, with Since the transaction time of the latest completed export
// ("" when there is none: the first export of a series is a whole one).
func Plan(dir, request string, now time.Time) (*Next, error) {
	if st, err := bulk.ReadFolderState(dir); err != nil || st != nil {
		if err == nil {
			err = fmt.Errorf("%w: %s holds an export itself; --since auto keeps each export in a subfolder of the folder it is given: "+
				"give a new folder (and --since with the transaction time of this one), or move this export into a subfolder", ErrNotASeries, dir)
		}
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var latest, unfinished string
	var latestTime time.Time
	for _, e := range entries { // sorted by name: oldest first, as Plan names them
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		var st *bulk.FolderState
		var entry Entry
		if e.IsDir() {
			if st, entry, err = read(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
		if st == nil {
			return nil, fmt.Errorf("%w: %s holds %s, which is not an export of ours; --since auto needs a folder holding only its exports",
				ErrNotASeries, dir, name)
		}
		if !bulk.SameRequest(entry.Request, request) {
			continue
		}
		if !st.Complete {
			unfinished = name
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, st.TransactionTime)
		if err != nil {
			continue // no usable transaction time: not something to start from
		}
		if latest == "" || !t.Before(latestTime) {
			latest, latestTime, unfinished = name, t, ""
		}
	}
	if unfinished != "" {
		_, entry, err := read(filepath.Join(dir, unfinished))
		return &Next{Folder: filepath.Join(dir, unfinished), Resuming: true, Entry: entry}, err
	}
	next := &Next{Folder: filepath.Join(dir, freeName(dir, now)), Entry: Entry{Request: request}}
	if latest != "" {
		next.Entry.Since, next.Entry.Previous = latestTime.UTC().Format(time.RFC3339Nano), latest
	}
	return next, nil
}

// read returns an export folder's state and series entry; an export made without --since auto
// (no entry) counts with the request its state records.
// An export recorded but stopped before it saved any state counts as unfinished.
func read(folder string) (*bulk.FolderState, Entry, error) {
	st, err := bulk.ReadFolderState(folder)
	if err != nil {
		return nil, Entry{}, err
	}
	var e Entry
	b, err := os.ReadFile(entryFile(folder))
	switch {
	case errors.Is(err, fs.ErrNotExist) && st != nil:
		return st, Entry{Request: st.ExportURL}, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, e, nil
	case err != nil:
		return nil, e, fmt.Errorf("reading %s: %w", entryFile(folder), err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, e, fmt.Errorf("%s is corrupt: %w", entryFile(folder), err)
	}
	if st == nil {
		st = &bulk.FolderState{}
	}
	return st, e, nil
}

// Record saves the export's entry in its folder, before the export starts.
func Record(next *Next) error {
	if err := os.MkdirAll(bulk.StateFolder(next.Folder), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", next.Folder, err)
	}
	b, err := json.MarshalIndent(next.Entry, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(entryFile(next.Folder), b, 0o600)
}

// freeName names a new subfolder after now (UTC, to the millisecond, so that names sort in time
// order, also as paths); a name taken moves on by a millisecond.
func freeName(dir string, now time.Time) string {
	for t := now.UTC(); ; t = t.Add(time.Millisecond) {
		name := t.Format("20060102T150405.000Z")
		if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
			return name
		}
	}
}
