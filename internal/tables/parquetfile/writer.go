package parquetfile

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"cumulus-etl/internal/schema"
	"cumulus-etl/internal/schema/jsonrow"
)

// Options tune a Writer; the zero value is fine.
type Options struct {
	// RowGroupBytes ends a row group once this much JSON went into it (default 64 MiB). Memory is
	// about one row group's compressed columns plus the rows of one write batch.
	RowGroupBytes int
}

const (
	defaultRowGroupBytes = 64 << 20
	batchRows            = 1024    // rows handed to the Parquet writer at once
	batchBytes           = 8 << 20 // or this much JSON, whichever comes first
	arenaChunk           = 1 << 20
)

// Writer writes rows of one schema to one Parquet file. It is not safe for concurrent use.
type Writer struct {
	pw    *parquet.Writer
	sh    shredder
	opts  Options
	stats Stats

	batch      int // rows shredded since the last hand-over to the Parquet writer
	batchBytes int
	groupBytes int
}

// New starts a Parquet file with the given columns on out. Close finishes it.
func New(out io.Writer, root *schema.Column, opts Options) (*Writer, error) {
	l, err := newLayout(root)
	if err != nil {
		return nil, err
	}
	if opts.RowGroupBytes <= 0 {
		opts.RowGroupBytes = defaultRowGroupBytes
	}
	w := &Writer{opts: opts}
	w.pw = parquet.NewWriter(out, l.schema, parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("cumulus-etl", "", ""))
	w.sh.init(l)
	w.stats.plan(l.root)
	return w, nil
}

// Write adds one row, a JSON object that fits the writer's columns (schema.Table.Add checked
// it). A row that does not fit is an error and nothing of it is written.
func (w *Writer) Write(row []byte) error {
	if err := w.sh.row(row); err != nil {
		return err
	}
	w.stats.add(w.sh.cols, w.batch)
	w.stats.Rows++
	w.batch++
	w.batchBytes += len(row)
	if w.batch >= batchRows || w.batchBytes >= batchBytes {
		return w.flushRows()
	}
	return nil
}

// flushRows hands the batch's column values to the Parquet writer, column by column.
func (w *Writer) flushRows() error {
	if w.batch == 0 {
		return nil
	}
	w.sh.settleAll()
	for i, cw := range w.pw.ColumnWriters() {
		if _, err := cw.WriteRowValues(w.sh.cols[i]); err != nil {
			return fmt.Errorf("writing Parquet column %d: %w", i, err)
		}
	}
	w.groupBytes += w.batchBytes
	w.batch, w.batchBytes = 0, 0
	w.sh.resetBatch()
	if w.groupBytes >= w.opts.RowGroupBytes {
		w.groupBytes = 0
		if err := w.pw.Flush(); err != nil {
			return fmt.Errorf("writing a Parquet row group: %w", err)
		}
	}
	return nil
}

// Close writes the buffered rows and the file footer, and returns what the file holds.
func (w *Writer) Close() (Stats, error) {
	if err := w.flushRows(); err != nil {
		return w.stats, err
	}
	if err := w.pw.Close(); err != nil {
		return w.stats, fmt.Errorf("finishing the Parquet file: %w", err)
	}
	w.stats.finish()
	return w.stats, nil
}

// shredder turns JSON rows into Parquet column values with repetition and definition levels.
type shredder struct {
	l     *layout
	r     jsonrow.Reader
	cols  [][]parquet.Value // the batch's values, per leaf column
	marks []int             // each column's length before the current row
	nulls [][]parquet.Value // per leaf: its null value at each (repetition, definition) level
	maxD  int
	arena arena    // bytes the batch's string values point into
	seen  [][]bool // per struct depth: which fields the object had

	// A top-level struct or list that a row lacks owes each of its leaves one null at levels
	// (0, 0); pend counts those rows per top-level column and settle appends them in bulk, so an
	// absent column costs one increment per row rather than one value per leaf.
	pend    []int
	zeros   [][]parquet.Value // per leaf: a run of its (0, 0) null
	settled []settledNulls    // settled during the current row, owed again if the row fails
	pended  []int             // columns the current row was absent from, not owed if it fails
	stamp   []int             // per leaf: the row that last set its mark
	rowNo   int
}

type settledNulls struct{ child, count int }

func (s *shredder) init(l *layout) {
	s.l = l
	s.cols = make([][]parquet.Value, l.leaves)
	s.marks = make([]int, l.leaves)
	s.stamp = make([]int, l.leaves)
	s.zeros = make([][]parquet.Value, l.leaves)
	s.pend = make([]int, len(l.root.children))
	s.maxD = 3*depthOf(l.root) + 1
	s.nulls = make([][]parquet.Value, l.leaves)
	for i := range s.nulls {
		s.nulls[i] = make([]parquet.Value, (s.maxD+1)*(s.maxD+1))
		for rep := 0; rep <= s.maxD; rep++ {
			for d := 0; d <= s.maxD; d++ {
				s.nulls[i][rep*(s.maxD+1)+d] = parquet.Value{}.Level(rep, d, i)
			}
		}
	}
}

// depthOf bounds how deep a schema nests, for the level tables.
func depthOf(n *node) int {
	d := 0
	for _, c := range n.children {
		d = max(d, depthOf(c))
	}
	return d + 1
}

func (s *shredder) resetBatch() {
	for i := range s.cols {
		s.cols[i] = s.cols[i][:0]
	}
	s.arena.reset()
}

// row shreds one row onto the batch's columns; on error the columns are as they were.
func (s *shredder) row(data []byte) error {
	s.rowNo++
	s.settled, s.pended = s.settled[:0], s.pended[:0]
	s.r.Reset(s.arena.copy(data))
	err := s.fields(s.l.root, 0, 0, 0)
	if err == nil {
		err = s.r.Finish()
	}
	if err != nil {
		for i := range s.cols {
			if s.stamp[i] == s.rowNo {
				s.cols[i] = s.cols[i][:s.marks[i]]
			}
		}
		for _, st := range s.settled {
			s.pend[st.child] += st.count
		}
		for _, c := range s.pended {
			s.pend[c]--
		}
	}
	return err
}

// put appends a value to leaf i, remembering where the current row's values of the leaf start.
func (s *shredder) put(i int, v parquet.Value) {
	if s.stamp[i] != s.rowNo {
		s.stamp[i], s.marks[i] = s.rowNo, len(s.cols[i])
	}
	s.cols[i] = append(s.cols[i], v)
}

// deferrable reports whether top-level column n's absence is counted rather than written.
func deferrable(n *node) bool { return n.col.Kind == schema.Struct || n.col.List }

// settle appends the nulls top-level column c owes.
func (s *shredder) settle(c int) {
	k := s.pend[c]
	if k == 0 {
		return
	}
	n := s.l.root.children[c]
	for i := n.first; i < n.end; i++ {
		if s.stamp[i] != s.rowNo {
			s.stamp[i], s.marks[i] = s.rowNo, len(s.cols[i])
		}
		for len(s.zeros[i]) < k {
			s.zeros[i] = append(s.zeros[i], s.nulls[i][0])
		}
		s.cols[i] = append(s.cols[i], s.zeros[i][:k]...)
	}
	s.pend[c] = 0
	s.settled = append(s.settled, settledNulls{c, k})
}

// settleAll appends every owed null, before the batch's columns are handed over.
func (s *shredder) settleAll() {
	for c := range s.pend {
		s.settle(c)
	}
}

// fields reads an object into struct n, whose fields are present at definition level d.
func (s *shredder) fields(n *node, d, rep, depth int) error {
	if err := s.r.BeginObject(); err != nil {
		return err
	}
	for len(s.seen) <= depth {
		s.seen = append(s.seen, nil)
	}
	seen := s.seen[depth][:0]
	for range n.children {
		seen = append(seen, false)
	}
	s.seen[depth] = seen
	prev := -1
	for {
		key, ok, err := s.r.Key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		i := n.find(prev, key)
		if i < 0 {
			return fmt.Errorf("field %q has no column in %s", key, n.col.Name)
		}
		prev = i
		seen[i] = true
		child := n.children[i]
		if depth == 0 {
			s.settle(i)
		}
		if err := s.value(child, d, rep, depth+1); err != nil {
			return err
		}
	}
	for i, child := range n.children {
		switch {
		case seen[i]:
		case depth == 0 && deferrable(child):
			s.pend[i]++
			s.pended = append(s.pended, i)
		default:
			s.null(child, rep, d)
		}
	}
	return nil
}

// value reads the value of column n, whose parent is present at definition level d.
func (s *shredder) value(n *node, d, rep, depth int) error {
	if s.r.Peek() == jsonrow.Null {
		s.null(n, rep, d)
		return s.r.Null()
	}
	if !n.col.List {
		return s.item(n, d, rep, depth)
	}
	if err := s.r.BeginArray(); err != nil {
		return fmt.Errorf("%s: %w", n.col.Name, err)
	}
	count := 0
	for {
		more, err := s.r.More()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		r := rep
		if count > 0 {
			r = n.repDepth
		}
		count++
		if s.r.Peek() == jsonrow.Null {
			s.null(n, r, d+2) // the list has an entry, the entry is null
			if err := s.r.Null(); err != nil {
				return err
			}
			continue
		}
		if err := s.item(n, d+2, r, depth); err != nil {
			return err
		}
	}
	if count == 0 {
		s.null(n, rep, d+1) // an empty list
	}
	return nil
}

// item reads one non-null value of column n (an element, for lists) present at level d+1.
func (s *shredder) item(n *node, d, rep, depth int) error {
	c := n.col
	if c.Kind == schema.Struct {
		return s.fields(n, d+1, rep, depth)
	}
	var v parquet.Value
	switch c.Kind {
	case schema.String:
		b, err := s.r.String()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		if s.r.Escaped() {
			b = s.arena.copy(b)
		}
		v = parquet.ByteArrayValue(b)
	case schema.Int32:
		num, err := s.r.Number()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		i, err := strconv.ParseInt(string(num), 10, 32)
		if err != nil {
			return fmt.Errorf("%s: %s is not a 32-bit integer", c.Name, num)
		}
		v = parquet.Int32Value(int32(i))
	case schema.Double:
		num, err := s.r.Number()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %s does not fit a double", c.Name, num)
		}
		v = parquet.DoubleValue(f)
	case schema.Boolean:
		b, err := s.r.Bool()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		v = parquet.BooleanValue(b)
	}
	s.put(n.first, v.Level(rep, d+1, n.first))
	return nil
}

// null gives every leaf under n one null at definition level d.
func (s *shredder) null(n *node, rep, d int) {
	at := rep*(s.maxD+1) + d
	for i := n.first; i < n.end; i++ {
		s.put(i, s.nulls[i][at])
	}
}

// arena holds byte copies that stay put until reset (values point into them).
type arena struct {
	chunks [][]byte
	cur    int
}

func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaChunk {
		return append([]byte(nil), b...) // a huge row: its own allocation, freed with the batch
	}
	for a.cur < len(a.chunks) && cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < len(b) {
		a.cur++
	}
	if a.cur == len(a.chunks) {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
	}
	c := a.chunks[a.cur]
	start := len(c)
	c = append(c, b...)
	a.chunks[a.cur] = c
	return c[start:len(c):len(c)]
}

func (a *arena) reset() {
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}
