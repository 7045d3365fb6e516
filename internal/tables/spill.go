package tables

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"cumulus-etl/internal/schema"
)

// spill keeps a run's rows of one table on local disk, for the columnar formats: their columns
// depend on every row (and Drop may remove any), so files are written once all rows are in.
// Memory: the column schema and one buffer, whatever the row count.
type spill struct {
	schema  *schema.Table
	f       *os.File
	w       *bufio.Writer
	written int64 // rows written
	rows    int64 // rows left after Drop
	drop    func(int64) bool
}

func newSpill(tempDir, table string, s *schema.Table) (*spill, error) {
	f, err := os.CreateTemp(tempDir, "cumulus-etl-"+table+"-rows-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary file: %w", err)
	}
	return &spill{schema: s, f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// WriteRow checks the row against the table's FHIR columns (growing them) and keeps it.
func (s *spill) WriteRow(row []byte) error {
	if err := s.schema.Add(row); err != nil {
		return err
	}
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(row)))
	if _, err := s.w.Write(hdr[:n]); err != nil {
		return fmt.Errorf("writing a temporary file: %w", err)
	}
	if _, err := s.w.Write(row); err != nil {
		return fmt.Errorf("writing a temporary file: %w", err)
	}
	s.written++
	s.rows++
	return nil
}

// Drop implements Writer.
func (s *spill) Drop(drop func(int64) bool) error {
	s.drop = drop
	s.rows = 0
	for i := range s.written {
		if !drop(i) {
			s.rows++
		}
	}
	return nil
}

// Rows implements Writer.
func (s *spill) Rows() int64 { return s.rows }

// each calls fn with every row Drop left, in order.
func (s *spill) each(fn func(row []byte) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing a temporary file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 256<<10)
	var buf []byte
	for i := int64(0); ; i++ {
		n, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading a temporary file: %w", err)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("reading a temporary file: %w", err)
		}
		if s.drop != nil && s.drop(i) {
			continue
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
}

func (s *spill) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
