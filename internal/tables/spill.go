package tables

import (
	"cumulus-etl/internal/schema"
	"cumulus-etl/internal/spillfile"
)

// spill keeps a run's rows of one table on local disk, for the columnar formats: their columns
// depend on every row (and Drop may remove any), so files are written once all rows are in.
// Memory: the column schema and one buffer, whatever the row count.
type spill struct {
	schema  *schema.Table
	f       *spillfile.File
	written int64 // rows written
	rows    int64 // rows left after Drop
	drop    func(int64) bool
}

func newSpill(tempDir, table string, s *schema.Table) (*spill, error) {
	f, err := spillfile.Create(tempDir, "cumulus-etl-"+table+"-rows-", 0)
	if err != nil {
		return nil, err
	}
	return &spill{schema: s, f: f}, nil
}

// WriteRow checks the row against the table's FHIR columns (growing them) and keeps it.
func (s *spill) WriteRow(row []byte) error {
	if err := s.schema.Add(row); err != nil {
		return err
	}
	if err := s.f.Append(row); err != nil {
		return err
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
	var i int64
	return s.f.Each(func(_ []uint64, row []byte) error {
		defer func() { i++ }()
		if s.drop != nil && s.drop(i) {
			return nil
		}
		return fn(row)
	})
}

func (s *spill) close() { s.f.Close() }
