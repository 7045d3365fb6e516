package delta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
)

// hitFinder finds which rows of the table's live files hold a key of this run (a replaced or
// deleted id) without holding either side's keys in memory: both are spilled to disk in hash
// partitions, and one partition's run keys at a time are loaded. What it keeps in memory is one
// bit per row of the files that have a hit.
type hitFinder struct {
	dir      string
	keys     []*spill // this run's keys, by partition
	existing []*spill // (file, row, key) of the live files, by partition
}

// partitionBytes is about how many bytes of keys one partition gets.
const partitionBytes = 32 << 20

type spill struct {
	f *os.File
	w *bufio.Writer
}

func newHitFinder(tempDir string, expectedKeyBytes int64) (*hitFinder, error) {
	dir, err := os.MkdirTemp(tempDir, "cumulus-etl-delta-")
	if err != nil {
		return nil, err
	}
	n := int(min(expectedKeyBytes/partitionBytes+1, 256))
	h := &hitFinder{dir: dir}
	for i := range n {
		k, err := newSpill(filepath.Join(dir, fmt.Sprintf("keys-%03d", i)))
		if err != nil {
			h.close()
			return nil, err
		}
		e, err := newSpill(filepath.Join(dir, fmt.Sprintf("rows-%03d", i)))
		if err != nil {
			k.f.Close()
			h.close()
			return nil, err
		}
		h.keys, h.existing = append(h.keys, k), append(h.existing, e)
	}
	return h, nil
}

func newSpill(path string) (*spill, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating spill file: %w", err)
	}
	return &spill{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (h *hitFinder) partition(key []byte) int {
	if len(h.keys) == 1 {
		return 0
	}
	f := fnv.New32a()
	_, _ = f.Write(key)
	return int(f.Sum32() % uint32(len(h.keys)))
}

// addKey records a key of this run.
func (h *hitFinder) addKey(key []byte) error {
	return h.keys[h.partition(key)].record(0, 0, key)
}

// addRow records that row of live file file holds key.
func (h *hitFinder) addRow(file, row int, key []byte) error {
	return h.existing[h.partition(key)].record(file, row, key)
}

func (s *spill) record(file, row int, key []byte) error {
	var hdr [3 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(file))
	n += binary.PutUvarint(hdr[n:], uint64(row))
	n += binary.PutUvarint(hdr[n:], uint64(len(key)))
	if _, err := s.w.Write(hdr[:n]); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	if _, err := s.w.Write(key); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	return nil
}

// each reads the spill from its start.
func (s *spill) each(fn func(file, row int, key []byte)) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 64<<10)
	var buf []byte
	for {
		file, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		row, err1 := binary.ReadUvarint(r)
		n, err2 := binary.ReadUvarint(r)
		if err = errors.Join(err, err1, err2); err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		fn(int(file), int(row), buf)
	}
}

// hits returns, per live file index, the bitset of its rows that hold a key of this run (nil for
// a file without any).
func (h *hitFinder) hits(rowsPerFile []int64) ([][]uint64, error) {
	out := make([][]uint64, len(rowsPerFile))
	for p := range h.keys {
		set := map[string]struct{}{}
		if err := h.keys[p].each(func(_, _ int, key []byte) { set[string(key)] = struct{}{} }); err != nil {
			return nil, err
		}
		err := h.existing[p].each(func(file, row int, key []byte) {
			if _, hit := set[string(key)]; hit {
				if out[file] == nil {
					out[file] = make([]uint64, (rowsPerFile[file]+63)/64)
				}
				out[file][row/64] |= 1 << (row % 64)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *hitFinder) close() {
	for _, s := range append(h.keys, h.existing...) {
		s.f.Close()
	}
	os.RemoveAll(h.dir)
}
