package crawl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"cumulus-etl/internal/store"
)

// sortedFile is a file of distinct lines in byte order (the cohort's patient ids), read in order
// or searched without loading it: a lookup reads O(log n) short stretches.
type sortedFile struct {
	path string
	f    *os.File
	size int64
	n    int // lines
}

// writeSorted writes the distinct lines of s, in order, to path atomically and opens the result.
func writeSorted(s *lineSorter, path string) (*sortedFile, error) {
	af, err := store.CreateAtomic(path, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	w := bufio.NewWriterSize(af, 64<<10)
	err = s.each(true, func(line []byte) error {
		w.Write(line)
		return w.WriteByte('\n')
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		_ = af.Abort()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := af.Commit(); err != nil {
		return nil, err
	}
	return openSorted(path)
}

// openSorted opens a file written by writeSorted.
func openSorted(path string) (*sortedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sf := &sortedFile{path: path, f: f}
	err = sf.each(func(int, []byte) error { sf.n++; return nil })
	if err != nil {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.size = st.Size()
	return sf, nil
}

func (sf *sortedFile) Close() error { return sf.f.Close() }

// each calls fn with every line and its 0-based number, in order.
func (sf *sortedFile) each(fn func(i int, line []byte) error) error {
	r := bufio.NewReaderSize(io.NewSectionReader(sf.f, 0, 1<<62), 64<<10)
	for i := 0; ; i++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if ferr := fn(i, bytes.TrimSuffix(line, []byte("\n"))); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", sf.path, err)
		}
	}
}

// contains reports whether key is one of the lines, by binary search over byte offsets: lines
// starting before lo are less than key, and none starting at hi or later needs looking at.
func (sf *sortedFile) contains(key []byte) (bool, error) {
	lo, hi := int64(0), sf.size
	for lo < hi {
		mid := lo + (hi-lo)/2
		start, line, err := sf.lineFrom(mid)
		if err != nil {
			return false, err
		}
		if start >= hi {
			hi = mid
			continue
		}
		switch c := bytes.Compare(line, key); {
		case c == 0:
			return true, nil
		case c < 0:
			lo = start + int64(len(line)) + 1
		default:
			hi = mid
		}
	}
	return false, nil
}

// lineFrom returns the first line that starts at pos or later, and where it starts (size when
// there is none).
func (sf *sortedFile) lineFrom(pos int64) (int64, []byte, error) {
	start := pos
	if pos > 0 {
		r := bufio.NewReaderSize(io.NewSectionReader(sf.f, pos-1, sf.size-pos+1), 256)
		skipped, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return sf.size, nil, nil
		}
		if err != nil {
			return 0, nil, fmt.Errorf("reading %s: %w", sf.path, err)
		}
		start = pos - 1 + int64(len(skipped))
	}
	if start >= sf.size {
		return sf.size, nil, nil
	}
	r := bufio.NewReaderSize(io.NewSectionReader(sf.f, start, sf.size-start), 256)
	line, err := r.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, fmt.Errorf("reading %s: %w", sf.path, err)
	}
	return start, bytes.TrimSuffix(line, []byte("\n")), nil
}
