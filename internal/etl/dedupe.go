package etl

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

// dedupe keeps the last copy of each id, with memory bounded by the size of one partition rather
// than the size of the table: rows are spilled to disk in hash partitions, then each partition is
// read twice, once to find the last copy of each id and once to emit it.
//
// Memory: one 64 KiB buffer per partition while spilling, then one map of the ids of a single
// partition while emitting. Partitions are sized (see partitionsFor) to hold about 32 MiB of rows.
type dedupe struct {
	dir     string
	files   []*os.File
	writers []*bufio.Writer
}

const (
	partitionTarget = 32 << 20 // bytes of rows per partition
	maxPartitions   = 256
	spillBufferSize = 64 << 10
)

// partitionsFor picks the partition count for an input of the given size in bytes.
func partitionsFor(inputBytes int64) int {
	n := int(inputBytes/partitionTarget) + 1
	return min(n, maxPartitions)
}

func newDedupe(dir string, partitions int) (*dedupe, error) {
	d := &dedupe{dir: dir}
	for i := range partitions {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("part-%03d", i)), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			d.close()
			return nil, fmt.Errorf("creating spill file: %w", err)
		}
		d.files = append(d.files, f)
		d.writers = append(d.writers, bufio.NewWriterSize(f, spillBufferSize))
	}
	return d, nil
}

func (d *dedupe) partition(id string) int {
	if len(d.files) == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = io.WriteString(h, id)
	return int(h.Sum32() % uint32(len(d.files)))
}

// add spills one row keyed by id.
func (d *dedupe) add(id string, row []byte) error {
	w := d.writers[d.partition(id)]
	var hdr [2 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(id)))
	n += binary.PutUvarint(hdr[n:], uint64(len(row)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	if _, err := w.WriteString(id); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	if _, err := w.Write(row); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}
	return nil
}

// dedupeStats counts what emit dropped.
type dedupeStats struct {
	duplicates int64 // earlier copies of an id that a later copy replaced
	deleted    int64 // rows whose id was in the deleted set
}

// emit calls fn with the last copy of every id not in deleted, partition by partition.
func (d *dedupe) emit(deleted map[string]struct{}, fn func(id string, row []byte) error) (dedupeStats, error) {
	var stats dedupeStats
	for i, w := range d.writers {
		if err := w.Flush(); err != nil {
			return stats, fmt.Errorf("writing spill file: %w", err)
		}
		last := map[string]int{}
		if err := d.scan(i, func(idx int, id string, _ []byte) error {
			if _, seen := last[id]; seen {
				stats.duplicates++
			}
			last[id] = idx
			return nil
		}); err != nil {
			return stats, err
		}
		err := d.scan(i, func(idx int, id string, row []byte) error {
			if last[id] != idx {
				return nil
			}
			if _, gone := deleted[id]; gone {
				stats.deleted++
				return nil
			}
			return fn(id, row)
		})
		if err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// scan reads partition i from the start, calling fn with each record's index, id and row.
func (d *dedupe) scan(i int, fn func(idx int, id string, row []byte) error) error {
	f := d.files[i]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, spillBufferSize)
	var buf []byte
	for idx := 0; ; idx++ {
		idLen, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		rowLen, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		need := int(idLen + rowLen)
		if cap(buf) < need {
			buf = make([]byte, need)
		}
		buf = buf[:need]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		if err := fn(idx, string(buf[:idLen]), buf[idLen:]); err != nil {
			return err
		}
	}
}

func (d *dedupe) close() {
	for _, f := range d.files {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	d.files, d.writers = nil, nil
}
