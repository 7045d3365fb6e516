package delta

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"time"

	"cumulus-etl/internal/spillfile"
)

// hitFinder finds which rows of the table's live files hold a key of this run (a replaced or
// deleted id), and which rows of the run lose to a live row updated later, without holding
// either side's keys in memory: both are spilled to disk in hash partitions, and one
// partition's run keys at a time are loaded. What it keeps in memory is one bit per row of the
// files that have a hit, and one bit per row of the run.
type hitFinder struct {
	dir      string
	keys     []*spillfile.File // this run's keys, by partition: (run row, lastUpdated)
	existing []*spillfile.File // the live files' keys, by partition: (file, row, lastUpdated)
}

// deletedRow stands for the run row of a deleted id: it replaces whatever the live row holds.
const deletedRow = math.MaxUint64

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
		k, err := spillfile.Create(dir, fmt.Sprintf("keys-%03d-", i), 2)
		if err != nil {
			h.close()
			return nil, err
		}
		h.keys = append(h.keys, k)
		e, err := spillfile.Create(dir, fmt.Sprintf("rows-%03d-", i), 3)
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

// addKey records a key of this run: row runRow of the run (deletedRow for a deleted id), whose
// meta.lastUpdated is lastUpdated (see updateTime).
func (h *hitFinder) addKey(key []byte, runRow, lastUpdated uint64) error {
	return h.keys[h.partition(key)].Append(key, runRow, lastUpdated)
}

// addRow records that row of live file file holds key, last updated at lastUpdated.
func (h *hitFinder) addRow(file, row int, key []byte, lastUpdated uint64) error {
	return h.existing[h.partition(key)].Append(key, uint64(file), uint64(row), lastUpdated)
}

// updateTime encodes a meta.lastUpdated for the hit finder: 0 when absent or not an instant,
// else a number that orders as the instants do.
func updateTime(lastUpdated []byte) uint64 {
	t, err := time.Parse(time.RFC3339Nano, string(lastUpdated))
	if err != nil {
		return 0
	}
	return uint64(t.UnixMicro() + 1<<62)
}

// hitResult is what resolve found.
type hitResult struct {
	rows      []int64    // per live file index, its rows
	hits      [][]uint64 // per live file index, the bits of its rows replaced or deleted (nil: none)
	stale     []uint64   // the bits of the run's rows that lose to a live row updated later
	staleRows int64
}

// resolve matches the run's keys with the live rows. A live row with a key of the run is
// replaced (a hit) unless both carry a meta.lastUpdated and the live one is later: then the live
// row stays and the run's row is stale, as Cumulus ETL's merge does (it updates a row only when
// either lastUpdated is null or the table's is not later than the update's).
func (h *hitFinder) resolve(rowsPerFile []int64, runRows int64) (hitResult, error) {
	res := hitResult{rows: rowsPerFile, hits: make([][]uint64, len(rowsPerFile)), stale: make([]uint64, (runRows+63)/64)}
	type runKey struct{ row, lastUpdated uint64 }
	for p := range h.keys {
		set := map[string]runKey{}
		err := h.keys[p].Each(func(n []uint64, key []byte) error {
			if old, seen := set[string(key)]; !seen || old.row != deletedRow {
				set[string(key)] = runKey{n[0], n[1]}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		err = h.existing[p].Each(func(n []uint64, key []byte) error {
			k, hit := set[string(key)]
			if !hit {
				return nil
			}
			file, row, live := n[0], n[1], n[2]
			if k.row != deletedRow && live != 0 && k.lastUpdated != 0 && live > k.lastUpdated {
				if res.stale[k.row/64]&(1<<(k.row%64)) == 0 {
					res.stale[k.row/64] |= 1 << (k.row % 64)
					res.staleRows++
				}
				return nil
			}
			if res.hits[file] == nil {
				res.hits[file] = make([]uint64, (rowsPerFile[file]+63)/64)
			}
			res.hits[file][row/64] |= 1 << (row % 64)
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func (h *hitFinder) close() {
	for _, s := range append(h.keys, h.existing...) {
		s.Close()
	}
	os.RemoveAll(h.dir)
}
