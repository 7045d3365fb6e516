package delta

import (
	"fmt"
	"hash/fnv"
	"os"

	"cumulus-etl/internal/spillfile"
)

// hitFinder finds which rows of the table's live files hold a key of this run (a replaced or
// deleted id) without holding either side's keys in memory: both are spilled to disk in hash
// partitions, and one partition's run keys at a time are loaded. What it keeps in memory is one
// bit per row of the files that have a hit.
type hitFinder struct {
	dir      string
	keys     []*spillfile.File // this run's keys, by partition
	existing []*spillfile.File // (file, row, key) of the live files, by partition
}

// partitionBytes is about how many bytes of keys one partition gets.
const partitionBytes = 32 << 20

func newHitFinder(tempDir string, expectedKeyBytes int64) (*hitFinder, error) {
	dir, err := os.MkdirTemp(tempDir, "cumulus-etl-delta-")
	if err != nil {
		return nil, err
	}
	n := int(min(expectedKeyBytes/partitionBytes+1, 256))
	h := &hitFinder{dir: dir}
	for i := range n {
		k, err := spillfile.Create(dir, fmt.Sprintf("keys-%03d-", i), 0)
		if err != nil {
			h.close()
			return nil, err
		}
		h.keys = append(h.keys, k)
		e, err := spillfile.Create(dir, fmt.Sprintf("rows-%03d-", i), 2)
		if err != nil {
			h.close()
			return nil, err
		}
		h.existing = append(h.existing, e)
	}
	return h, nil
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
func (h *hitFinder) addKey(key []byte) error { return h.keys[h.partition(key)].Append(key) }

// addRow records that row of live file file holds key.
func (h *hitFinder) addRow(file, row int, key []byte) error {
	return h.existing[h.partition(key)].Append(key, uint64(file), uint64(row))
}

// hits returns, per live file index, the bitset of its rows that hold a key of this run (nil for
// a file without any).
func (h *hitFinder) hits(rowsPerFile []int64) ([][]uint64, error) {
	out := make([][]uint64, len(rowsPerFile))
	for p := range h.keys {
		set := map[string]struct{}{}
		err := h.keys[p].Each(func(_ []uint64, key []byte) error {
			set[string(key)] = struct{}{}
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = h.existing[p].Each(func(n []uint64, key []byte) error {
			if _, hit := set[string(key)]; hit {
				file, row := n[0], n[1]
				if out[file] == nil {
					out[file] = make([]uint64, (rowsPerFile[file]+63)/64)
				}
				out[file][row/64] |= 1 << (row % 64)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *hitFinder) close() {
	for _, s := range append(h.keys, h.existing...) {
		s.Close()
	}
	os.RemoveAll(h.dir)
}
