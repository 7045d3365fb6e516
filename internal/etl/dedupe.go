package etl

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"

	"cumulus-etl/internal/tables"
)

// lastWins writes rows to a table in input order and, when finished, drops every row that a later
// row with the same key replaced, or whose key was deleted: "the last copy of an id wins".
//
// Rows go straight to the table; only each row's key and position are spilled to disk, in hash
// partitions, so memory is bounded by one partition's keys (partitions are sized by partitionsFor
// to about partitionTarget bytes of input each) plus one bit per row for the rows to drop.
type lastWins struct {
	table   tables.Writer
	files   []*os.File
	writers []*bufio.Writer
}

const (
	partitionTarget = 32 << 20 // bytes of input per partition
	maxPartitions   = 256
	spillBufferSize = 64 << 10
)

// partitionsFor picks the partition count for an input of the given size in bytes.
func partitionsFor(inputBytes int64) int {
	n := int(inputBytes/partitionTarget) + 1
	return min(n, maxPartitions)
}

func newLastWins(table tables.Writer, spillDir string, partitions int) (*lastWins, error) {
	d := &lastWins{table: table}
	for i := range partitions {
		f, err := os.OpenFile(filepath.Join(spillDir, fmt.Sprintf("keys-%03d", i)), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			d.close()
			return nil, fmt.Errorf("creating spill file: %w", err)
		}
		d.files = append(d.files, f)
		d.writers = append(d.writers, bufio.NewWriterSize(f, spillBufferSize))
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
	w := d.writers[d.partition(key)]
	var hdr [2 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(pos))
	n += binary.PutUvarint(hdr[n:], uint64(len(key)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	if _, err := w.WriteString(key); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	return nil
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
	for i, w := range d.writers {
		if err := w.Flush(); err != nil {
			return stats, fmt.Errorf("writing spill file: %w", err)
		}
		last := map[string]int64{}
		err := d.scan(i, func(pos int64, key string) {
			if prev, seen := last[key]; seen {
				stats.duplicates++
				drop.set(prev)
			}
			last[key] = pos
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

// scan reads partition i from the start, calling fn with each record's position and key.
func (d *lastWins) scan(i int, fn func(pos int64, key string)) error {
	f := d.files[i]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, spillBufferSize)
	var buf []byte
	for {
		pos, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		keyLen, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		if uint64(cap(buf)) < keyLen {
			buf = make([]byte, keyLen)
		}
		buf = buf[:keyLen]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		fn(int64(pos), string(buf))
	}
}

func (d *lastWins) close() {
	for _, f := range d.files {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	d.files, d.writers = nil, nil
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
