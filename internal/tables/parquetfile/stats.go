package parquetfile

import (
	"bytes"
	"cmp"

	"github.com/parquet-go/parquet-go"

	"cumulus-etl/internal/schema"
)

// Stats is what a file holds, for Delta's per-file statistics: the exact row count, and the exact
// null counts, minimums and maximums of the top-level primitive (not list) columns.
type Stats struct {
	Rows    int64
	Columns []ColumnStats
}

// ColumnStats describes one top-level column of a file.
type ColumnStats struct {
	Name  string
	Kind  schema.Kind
	Nulls int64
	// Min and Max are string, int32, float64 or bool; nil when every value is null.
	Min, Max any

	leaf             int
	minB, maxB       []byte // strings, kept as bytes until the file is done
	minV, maxV       parquet.Value
	hasValue, closed bool
}

func (s *Stats) plan(root *node) {
	for _, c := range root.children {
		if c.col.Kind != schema.Struct && !c.col.List {
			s.Columns = append(s.Columns, ColumnStats{Name: c.col.Name, Kind: c.col.Kind, leaf: c.first})
		}
	}
}

// add takes the row'th row of the batch's columns into account (a top-level primitive column has
// one value per row).
func (s *Stats) add(cols [][]parquet.Value, row int) {
	for i := range s.Columns {
		c := &s.Columns[i]
		v := cols[c.leaf][row]
		if v.IsNull() {
			c.Nulls++
			continue
		}
		if c.Kind == schema.String {
			b := v.ByteArray()
			if !c.hasValue || bytes.Compare(b, c.minB) < 0 {
				c.minB = append(c.minB[:0], b...)
			}
			if !c.hasValue || bytes.Compare(b, c.maxB) > 0 {
				c.maxB = append(c.maxB[:0], b...)
			}
		} else {
			if !c.hasValue || compare(v, c.minV) < 0 {
				c.minV = v
			}
			if !c.hasValue || compare(v, c.maxV) > 0 {
				c.maxV = v
			}
		}
		c.hasValue = true
	}
}

// finish fills Min and Max.
func (s *Stats) finish() {
	for i := range s.Columns {
		c := &s.Columns[i]
		if !c.hasValue || c.closed {
			continue
		}
		c.closed = true
		switch c.Kind {
		case schema.String:
			c.Min, c.Max = string(c.minB), string(c.maxB)
		case schema.Int32:
			c.Min, c.Max = c.minV.Int32(), c.maxV.Int32()
		case schema.Double:
			c.Min, c.Max = c.minV.Double(), c.maxV.Double()
		case schema.Boolean:
			c.Min, c.Max = c.minV.Boolean(), c.maxV.Boolean()
		}
	}
}

func compare(a, b parquet.Value) int {
	switch a.Kind() {
	case parquet.Int32:
		return cmp.Compare(a.Int32(), b.Int32())
	case parquet.Double:
		return cmp.Compare(a.Double(), b.Double())
	case parquet.Boolean:
		x, y := 0, 0
		if a.Boolean() {
			x = 1
		}
		if b.Boolean() {
			y = 1
		}
		return cmp.Compare(x, y)
	}
	return 0
}
