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
	follow      []int32 // follow[i+1]: the child that came after child i last time (+1)
}

// find returns the index of the child named key, or -1, trying first the child that followed
// child prev last time (rows repeat one key order).
func (n *node) find(prev int, key []byte) int {
	if f := n.follow[prev+1]; f > 0 && n.children[f-1].col.Name == string(key) {
		return int(f - 1)
	}
	i, ok := n.childByName[string(key)]
	if !ok {
		return -1
	}
	n.follow[prev+1] = int32(i + 1)
	return i
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
		if c.Name == "id" && c.Kind == schema.String && !c.List {
			// Unique per row: a dictionary would only add its cost.
			group[c.Name] = parquet.Optional(parquet.String())
			continue
		}
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
	n.follow = make([]int32, len(fields)+1)
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
