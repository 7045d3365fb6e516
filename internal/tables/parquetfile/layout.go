// Package parquetfile writes de-identified JSON rows into a Parquet file whose columns a
// schema.Column tree gives: real nested groups and three-level lists, dictionary-encoded strings,
// Snappy compression. It shreds each row straight from its JSON into column values (no maps).
package parquetfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"cumulus-etl/internal/schema"
)

// node is a column of the schema with what shredding needs: its leaf columns, levels and
// children in the file's column order (by name, as Parquet groups are laid out here).
type node struct {
	col         *schema.Column
	first, end  int // leaf column indexes [first, end)
	repDepth    int // repetition level of this list's elements; for lists only
	children    []*node
	childByName map[string]int
}

// layout maps a schema to its Parquet schema and shredding plan.
type layout struct {
	root   *node
	leaves int
	schema *parquet.Schema
}

func newLayout(root *schema.Column) (*layout, error) {
	if root.Kind != schema.Struct || root.List {
		return nil, fmt.Errorf("parquetfile: the root must be a struct, got %s", root.TypeString())
	}
	l := &layout{}
	group := parquet.Group{}
	l.root = l.plan(root, 0)
	for _, c := range root.Fields {
		group[c.Name] = nodeOf(c)
	}
	l.schema = parquet.NewSchema(strings.ToLower(root.Name), group)
	if got := len(l.schema.Columns()); got != l.leaves {
		return nil, fmt.Errorf("parquetfile: planned %d leaf columns, Parquet schema has %d", l.leaves, got)
	}
	return l, nil
}

// plan numbers the leaves in Parquet's order: depth first, fields sorted by name.
func (l *layout) plan(c *schema.Column, lists int) *node {
	n := &node{col: c, first: l.leaves}
	if c.List {
		lists++
		n.repDepth = lists
	}
	if c.Kind != schema.Struct {
		l.leaves++
		n.end = l.leaves
		return n
	}
	fields := slices.Clone(c.Fields)
	slices.SortFunc(fields, func(a, b *schema.Column) int { return strings.Compare(a.Name, b.Name) })
	n.childByName = make(map[string]int, len(fields))
	for i, f := range fields {
		n.children = append(n.children, l.plan(f, lists))
		n.childByName[f.Name] = i
	}
	n.end = l.leaves
	return n
}

// nodeOf is the Parquet node for a column: every column is optional; lists have optional elements.
func nodeOf(c *schema.Column) parquet.Node {
	var n parquet.Node
	switch c.Kind {
	case schema.String:
		n = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	case schema.Int32:
		n = parquet.Leaf(parquet.Int32Type)
	case schema.Double:
		n = parquet.Leaf(parquet.DoubleType)
	case schema.Boolean:
		n = parquet.Leaf(parquet.BooleanType)
	case schema.Struct:
		g := parquet.Group{}
		for _, f := range c.Fields {
			g[f.Name] = nodeOf(f)
		}
		n = g
	}
	if c.List {
		return parquet.Optional(parquet.List(parquet.Optional(n)))
	}
	return parquet.Optional(n)
}
