package etl

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"io"
	"slices"

	"cumulus-etl/internal/spillfile"
	"cumulus-etl/internal/tables"
)

// lastWins writes rows to a table in input order and, when finished, drops every row that a later
// row with the same key replaced, or whose key was deleted: "the last copy of an id wins".
//
// Rows go straight to the table; only each row's key and position are spilled to disk, in hash
// partitions, so memory is bounded by one partition's keys (partitions are sized by partitionsFor
// to about partitionTarget bytes of input each) plus one bit per row for the rows to drop.
type lastWins struct {
	table tables.Writer
	files []*spillfile.File // (position, key) records, by partition
}

const (
	partitionTarget = 32 << 20 // bytes of input per partition
	maxPartitions   = 256
)

// partitionsFor picks the partition count for an input of the given size in bytes.
func partitionsFor(inputBytes int64) int {
	n := int(inputBytes/partitionTarget) + 1
	return min(n, maxPartitions)
}

func newLastWins(table tables.Writer, spillDir string, partitions int) (*lastWins, error) {
	d := &lastWins{table: table}
	for i := range partitions {
		f, err := spillfile.Create(spillDir, fmt.Sprintf("keys-%03d-", i), 1)
		if err != nil {
			d.close()
			return nil, err
		}
		d.files = append(d.files, f)
	}
	return d, nil
}

func (d *lastWins) partition(key string) int {
	if len(d.files) == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = io.WriteString(h, key)
	return int(h.Sum32() % uint32(len(d.files)))
}

// write appends one row to the table and remembers its key.
func (d *lastWins) write(key string, row []byte) error {
	pos := d.table.Rows()
	if err := d.table.WriteRow(row); err != nil {
		return err
	}
	return d.files[d.partition(key)].Append([]byte(key), uint64(pos))
}

// dedupeStats counts what finish dropped.
type dedupeStats struct {
	duplicates int64 // earlier copies of a key that a later copy replaced
	deleted    int64 // last copies whose key was in the deleted set
}

// finish drops the replaced and deleted rows from the table and calls kept (if not nil) once for
// every key that stays.
func (d *lastWins) finish(deleted map[string]struct{}, kept func(key string) error) (dedupeStats, error) {
	var stats dedupeStats
	drop := newBitset(d.table.Rows())
	for _, f := range d.files {
		last := map[string]int64{}
		err := f.Each(func(n []uint64, k []byte) error {
			pos, key := int64(n[0]), string(k)
			if prev, seen := last[key]; seen {
				stats.duplicates++
				drop.set(prev)
			}
			last[key] = pos
			return nil
		})
		if err != nil {
			return stats, err
		}
		var stay []keyPos
		for key, pos := range last {
			if _, gone := deleted[key]; gone {
				stats.deleted++
				drop.set(pos)
			} else if kept != nil {
				stay = append(stay, keyPos{key, pos})
			}
		}
		// In row order, so what kept builds is the same from run to run.
		slices.SortFunc(stay, func(a, b keyPos) int { return cmp.Compare(a.pos, b.pos) })
		for _, s := range stay {
			if err := kept(s.key); err != nil {
				return stats, err
			}
		}
	}
	if drop.count == 0 {
		return stats, nil
	}
	return stats, d.table.Drop(drop.has)
}

type keyPos struct {
	key string
	pos int64
}

func (d *lastWins) close() {
	for _, f := range d.files {
		f.Close()
	}
	d.files = nil
}

// bitset marks row positions; one bit per row.
type bitset struct {
	words []uint64
	count int
}

func newBitset(n int64) *bitset { return &bitset{words: make([]uint64, (n+63)/64)} }

func (b *bitset) set(i int64) {
	if b.words[i/64]&(1<<(i%64)) == 0 {
		b.words[i/64] |= 1 << (i % 64)
		b.count++
	}
}

func (b *bitset) has(i int64) bool { return b.words[i/64]&(1<<(i%64)) != 0 }
