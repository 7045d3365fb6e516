package crawl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// writeStrays is the crawl's last step. A stray is a resource a search returned that is not
// plainly the searched patient's (another patient's, nobody's, another type, no id). Sorted by
// type and id (with bounded memory), each is written once, into new Type.NNN.ndjson files,
// unless the patient it names is in the cohort and its type was crawled: that patient's own
// searches wrote it. Types nobody asked for are counted and left out.
func (r *run) writeStrays(cohort *sortedFile) error {
	sorter, err := newLineSorter(filepath.Join(r.crawlDir, "sort-strays"))
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(r.opts.Dir, strayDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("listing the strays: %w", err)
	}
	for _, e := range entries {
		if err := eachLine(filepath.Join(r.opts.Dir, strayDir, e.Name()), sorter.add); err != nil {
			return err
		}
	}
	out := newSlot(r.opts.Dir, r.names)
	defer out.close()
	if err := out.begin(); err != nil {
		return err
	}
	var prev []byte
	var written, unasked int64
	err = sorter.each(false, func(line []byte) error {
		key, rest, _ := bytes.Cut(line, []byte("\t"))
		owner, resource, _ := bytes.Cut(rest, []byte("\t"))
		if bytes.Equal(key, prev) {
			return nil
		}
		prev = append(prev[:0], key...)
		typ, _, _ := bytes.Cut(key, []byte("/"))
		switch {
		case !slices.Contains(r.opts.Types, string(typ)):
			unasked++
			return nil
		case len(owner) > 0 && r.crawled(string(typ)):
			if mine, err := cohort.contains(owner); err != nil || mine {
				return err
			}
		}
		written++
		return out.write(string(typ), resource)
	})
	if err != nil {
		return err
	}
	sizes, _, err := out.finish()
	if err != nil {
		return err
	}
	if err := r.commits.sync(sizes); err != nil {
		return err
	}
	if err := r.journal.append(journalRecord{Files: sizes, Strays: true, Resources: written}); err != nil {
		return err
	}
	if unasked > 0 {
		r.progress.Info(fmt.Sprintf("Left out %d resources of types not asked for that searches also returned", unasked))
	}
	return os.RemoveAll(filepath.Join(r.opts.Dir, strayDir))
}

// crawled reports whether typ is searched per patient in this crawl.
func (r *run) crawled(typ string) bool {
	for _, p := range r.plans {
		if p.Type == typ {
			return true
		}
	}
	return false
}

// eachLine calls fn with each line of path (without its newline).
func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if ferr := fn(bytes.TrimSuffix(line, []byte("\n"))); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
}
