package parquetfile

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"cumulus-etl/internal/schema"
)

// File is an open Parquet file written by this package (or shaped like one: optional fields,
// three-level lists, string/int32/double/boolean leaves).
type File struct {
	f      *parquet.File
	root   *schema.Column
	layout *layout
}

// Open reads a Parquet file's footer and schema.
func Open(r io.ReaderAt, size int64) (*File, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, err
	}
	root, err := columnOf(f.Schema().Name(), f.Schema())
	if err != nil {
		return nil, err
	}
	l, err := newLayout(root)
	if err != nil {
		return nil, err
	}
	return &File{f: f, root: root, layout: l}, nil
}

// Columns returns the file's columns.
func (f *File) Columns() *schema.Column { return f.root }

// NumRows returns how many rows the file holds.
func (f *File) NumRows() int64 { return f.f.NumRows() }

// columnOf turns a Parquet node into a column: groups are structs, LIST groups lists.
func columnOf(name string, n parquet.Node) (*schema.Column, error) {
	c := &schema.Column{Name: name}
	if !n.Leaf() && isList(n) {
		f := n.Fields()
		if len(f) != 1 || len(f[0].Fields()) != 1 {
			return nil, fmt.Errorf("column %s: not a three-level list", name)
		}
		elem, err := columnOf(name, f[0].Fields()[0])
		if err != nil {
			return nil, err
		}
		if elem.List {
			return nil, fmt.Errorf("column %s: a list of lists", name)
		}
		elem.List = true
		return elem, nil
	}
	if !n.Leaf() {
		c.Kind = schema.Struct
		for _, f := range n.Fields() {
			fc, err := columnOf(f.Name(), f)
			if err != nil {
				return nil, err
			}
			c.Fields = append(c.Fields, fc)
		}
		return c, nil
	}
	switch n.Type().Kind() {
	case parquet.ByteArray:
		c.Kind = schema.String
	case parquet.Int32:
		c.Kind = schema.Int32
	case parquet.Double:
		c.Kind = schema.Double
	case parquet.Boolean:
		c.Kind = schema.Boolean
	default:
		return nil, fmt.Errorf("column %s: Parquet type %s is not one this package writes", name, n.Type())
	}
	return c, nil
}

func isList(n parquet.Node) bool {
	lt := n.Type().LogicalType()
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(*format.ListType)
	return ok
}

// ReadRows calls fn with each row as a compact JSON object (null fields and empty lists left
// out, fields in the file's order). The slice is valid until fn returns.
func (f *File) ReadRows(fn func(row []byte) error) error {
	r := parquet.NewReader(f.f, f.f.Schema())
	defer r.Close()
	a := assembler{layout: f.layout, leaves: make([][]parquet.Value, f.layout.leaves), pos: make([]int, f.layout.leaves)}
	rows := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			out, aerr := a.row(row)
			if aerr != nil {
				return aerr
			}
			if ferr := fn(out); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// assembler rebuilds JSON rows from column values with repetition and definition levels.
type assembler struct {
	layout *layout
	leaves [][]parquet.Value // this row's values per leaf
	pos    []int             // cursor per leaf
	out    []byte
}

func (a *assembler) row(row parquet.Row) ([]byte, error) {
	for i := range a.leaves {
		a.leaves[i], a.pos[i] = a.leaves[i][:0], 0
	}
	for _, v := range row {
		c := v.Column()
		if c < 0 || c >= len(a.leaves) {
			return nil, fmt.Errorf("parquetfile: value for column %d of %d", c, len(a.leaves))
		}
		a.leaves[c] = append(a.leaves[c], v)
	}
	a.out = a.out[:0]
	a.fields(a.layout.root, 0)
	return a.out, nil
}

func (a *assembler) peek(leaf int) (parquet.Value, bool) {
	if a.pos[leaf] >= len(a.leaves[leaf]) {
		return parquet.Value{}, false
	}
	return a.leaves[leaf][a.pos[leaf]], true
}

// skip consumes one value from every leaf under n (n is null or an empty list here).
func (a *assembler) skip(n *node) {
	for i := n.first; i < n.end; i++ {
		a.pos[i]++
	}
}

// fields writes struct n, present at definition level d, as an object.
func (a *assembler) fields(n *node, d int) {
	a.out = append(a.out, '{')
	first := true
	for _, c := range n.children {
		v, _ := a.peek(c.first)
		if v.DefinitionLevel() <= d { // null (or, for a list, absent)
			a.skip(c)
			continue
		}
		if c.col.List && v.DefinitionLevel() == d+1 { // an empty list: left out, as in the JSON rows
			a.skip(c)
			continue
		}
		if !first {
			a.out = append(a.out, ',')
		}
		first = false
		a.out = appendString(a.out, c.col.Name)
		a.out = append(a.out, ':')
		if c.col.List {
			a.list(c, d)
		} else {
			a.item(c, d)
		}
	}
	a.out = append(a.out, '}')
}

// list writes the non-empty list n, whose parent is present at level d.
func (a *assembler) list(n *node, d int) {
	a.out = append(a.out, '[')
	for i := 0; ; i++ {
		if i > 0 {
			a.out = append(a.out, ',')
		}
		if v, _ := a.peek(n.first); v.DefinitionLevel() == d+2 {
			a.out = append(a.out, "null"...)
			a.skip(n)
		} else {
			a.item(n, d+2)
		}
		if v, ok := a.peek(n.first); !ok || v.RepetitionLevel() != n.repDepth {
			break
		}
	}
	a.out = append(a.out, ']')
}

// item writes one present value of n (an element, for lists) whose parent is at level d.
func (a *assembler) item(n *node, d int) {
	if n.col.Kind == schema.Struct {
		a.fields(n, d+1)
		return
	}
	v, _ := a.peek(n.first)
	a.pos[n.first]++
	switch n.col.Kind {
	case schema.String:
		a.out = appendString(a.out, string(v.ByteArray()))
	case schema.Int32:
		a.out = strconv.AppendInt(a.out, int64(v.Int32()), 10)
	case schema.Double:
		a.out = strconv.AppendFloat(a.out, v.Double(), 'g', -1, 64)
	case schema.Boolean:
		a.out = strconv.AppendBool(a.out, v.Boolean())
	}
}

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			switch c {
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}

// ErrNoColumn is Strings' error for a file without the column asked for.
var ErrNoColumn = errors.New("no such string column")

// Strings calls fn with the row number and value of a string column for each row where it is
// not null, reading that column alone. The column is named by its path of field names, e.g.
// "id" or "meta.lastUpdated"; neither it nor its parents may be lists.
func (f *File) Strings(path string, fn func(row int64, v []byte) error) error {
	leaf := f.layout.root
	for name := range strings.SplitSeq(path, ".") {
		var next *node
		for _, c := range leaf.children {
			if c.col.Name == name && !c.col.List {
				next = c
			}
		}
		if next == nil {
			return fmt.Errorf("%w: %q", ErrNoColumn, path)
		}
		leaf = next
	}
	if leaf.col.Kind != schema.String || len(leaf.children) > 0 {
		return fmt.Errorf("%w: %q", ErrNoColumn, path)
	}
	var row int64
	buf := make([]parquet.Value, 1024)
	for _, rg := range f.f.RowGroups() {
		pages := rg.ColumnChunks()[leaf.first].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return err
			}
			vals := p.Values()
			for {
				n, err := vals.ReadValues(buf)
				for _, v := range buf[:n] {
					if !v.IsNull() {
						if ferr := fn(row, v.ByteArray()); ferr != nil {
							pages.Close()
							return ferr
						}
					}
					row++
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					pages.Close()
					return err
				}
			}
			parquet.Release(p)
		}
		if err := pages.Close(); err != nil {
			return err
		}
	}
	return nil
}

// CopyFrom appends to w the rows of src for which keep (given the row's number) is true. When src
// has exactly w's columns (the usual case: the table's columns did not grow), the rows' column
// values are copied as they are, without going through JSON; otherwise each row is read as JSON
// and written again, which needs w's columns to hold src's.
func (w *Writer) CopyFrom(src *File, keep func(row int64) bool) (copied int64, err error) {
	if !parquet.EqualNodes(w.pw.Schema(), src.f.Schema()) {
		var row int64
		err := src.ReadRows(func(r []byte) error {
			defer func() { row++ }()
			if !keep(row) {
				return nil
			}
			copied++
			return w.Write(r)
		})
		return copied, err
	}
	w.sh.settleAll() // rows go straight onto the columns from here on
	r := parquet.NewReader(src.f, src.f.Schema())
	defer r.Close()
	rows := make([]parquet.Row, 64)
	var n int64
	for {
		got, err := r.ReadRows(rows)
		for _, row := range rows[:got] {
			if keep(n) {
				w.appendRow(row)
				copied++
			}
			n++
		}
		if w.batch >= batchRows {
			if err := w.flushRows(); err != nil {
				return copied, err
			}
		}
		if errors.Is(err, io.EOF) {
			return copied, w.flushRows()
		}
		if err != nil {
			return copied, err
		}
	}
}

// appendRow adds a row of column values of w's own schema to the batch.
func (w *Writer) appendRow(row parquet.Row) {
	for _, v := range row {
		c := v.Column()
		if v.Kind() == parquet.ByteArray && !v.IsNull() {
			v = parquet.ByteArrayValue(w.sh.arena.copy(v.ByteArray())).Level(v.RepetitionLevel(), v.DefinitionLevel(), c)
		}
		w.sh.cols[c] = append(w.sh.cols[c], v)
	}
	w.stats.add(w.sh.cols, w.batch)
	w.stats.Rows++
	w.batch++
}
