package crawl

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// sortChunkBytes bounds the lines an external sort holds in memory at once (a longer single
// line is held whole).
var sortChunkBytes = 32 << 20

// lineSorter sorts lines with bounded memory: lines are gathered into chunks of about
// sortChunkBytes, each chunk is sorted and written to a run file in dir, and the runs are
// merged. Lines must not contain '\n'.
type lineSorter struct {
	dir   string
	chunk [][]byte
	size  int
	runs  []string
}

func newLineSorter(dir string) (*lineSorter, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &lineSorter{dir: dir}, nil
}

// add queues one line (copied).
func (s *lineSorter) add(line []byte) error {
	s.chunk = append(s.chunk, bytes.Clone(line))
	s.size += len(line) + 24
	if s.size >= sortChunkBytes {
		return s.spill()
	}
	return nil
}

// spill sorts the chunk in memory and writes it as a run.
func (s *lineSorter) spill() error {
	if len(s.chunk) == 0 {
		return nil
	}
	slices.SortFunc(s.chunk, bytes.Compare)
	path := filepath.Join(s.dir, "run."+strconv.Itoa(len(s.runs)))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sorting: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	for _, line := range s.chunk {
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return fmt.Errorf("sorting: writing %s: %w", path, err)
	}
	s.runs = append(s.runs, path)
	s.chunk, s.size = nil, 0
	return nil
}

// each calls fn with every line in sorted order, each distinct line once when unique is set,
// then removes the run files. The slice passed to fn is valid only during the call.
func (s *lineSorter) each(unique bool, fn func(line []byte) error) error {
	defer s.cleanup()
	if len(s.runs) == 0 {
		slices.SortFunc(s.chunk, bytes.Compare)
		var prev []byte
		for i, line := range s.chunk {
			if unique && i > 0 && bytes.Equal(line, prev) {
				continue
			}
			if err := fn(line); err != nil {
				return err
			}
			prev = line
		}
		return nil
	}
	if err := s.spill(); err != nil {
		return err
	}
	return s.merge(unique, fn)
}

// merge reads the runs in parallel, smallest line first.
func (s *lineSorter) merge(unique bool, fn func(line []byte) error) error {
	h := &runHeap{}
	for _, path := range s.runs {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("sorting: %w", err)
		}
		defer f.Close()
		r := &runReader{r: bufio.NewReaderSize(f, 64<<10)}
		if ok, err := r.next(); err != nil {
			return err
		} else if ok {
			heap.Push(h, r)
		}
	}
	var prev []byte
	first := true
	for h.Len() > 0 {
		r := (*h)[0]
		if !unique || first || !bytes.Equal(r.line, prev) {
			if err := fn(r.line); err != nil {
				return err
			}
			prev = append(prev[:0], r.line...)
			first = false
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

func (s *lineSorter) cleanup() {
	for _, p := range s.runs {
		_ = os.Remove(p)
	}
	s.runs, s.chunk, s.size = nil, nil, 0
}

// runReader is one run being merged.
type runReader struct {
	r    *bufio.Reader
	line []byte
}

func (r *runReader) next() (bool, error) {
	line, err := r.r.ReadBytes('\n')
	if errors.Is(err, io.EOF) && len(line) == 0 {
		return false, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("sorting: reading a run: %w", err)
	}
	r.line = bytes.TrimSuffix(line, []byte("\n"))
	return true, nil
}

// runHeap orders runs by their current line.
type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return bytes.Compare(h[i].line, h[j].line) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
