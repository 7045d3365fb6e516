package schema

import (
	"fmt"
	"strings"
)

// Merge adds to the table the columns of an existing table's schema (a Delta table's metaData),
// so that the columns earlier runs made stay, with their types. It refuses a schema whose columns
// are not the FHIR R4 types of the table's resource, as columns never change type.
func (t *Table) Merge(existing *Column) error {
	if t.fixed {
		if !t.root.Equal(existing) {
			return fmt.Errorf("table %s has columns %s, want %s", t.root.Name, existing.TypeString(), t.root.TypeString())
		}
		return nil
	}
	t.path = t.path[:0]
	return t.merge(t.root, existing, t.resource)
}

func (t *Table) merge(c, existing *Column, typ string) error {
	for _, f := range existing.Fields {
		t.path = append(t.path, []byte(f.Name))
		if err := t.mergeField(c, f, typ); err != nil {
			return err
		}
		t.path = t.path[:len(t.path)-1]
	}
	return nil
}

func (t *Table) mergeField(c, f *Column, typ string) error {
	var names []string
	for _, p := range t.path {
		names = append(names, string(p))
	}
	where := strings.Join(names, ".")
	if f.Name == "resourceType" && (c == t.root || c.typ == containedType) {
		return nil
	}
	var e element
	var i int
	var ok bool
	if c.typ == containedType {
		e, ok = containedElement(f.Name)
	} else {
		e, i, ok = lookup(typ, f.Name)
	}
	if !ok && strings.HasPrefix(f.Name, "_") {
		e, ok = element{name: f.Name, typ: "Element", list: f.List}, true
		i = -1
	}
	if !ok {
		return fmt.Errorf("column %s is not an element of FHIR R4 %s", where, typ)
	}
	child := c.Field(f.Name)
	if child == nil {
		child = newColumn(e, i, 2)
		t.insert(c, child, typ, f.Name)
	}
	if child.Kind != f.Kind || child.List != f.List {
		return fmt.Errorf("column %s is %s, but FHIR R4 makes it %s", where, f.TypeString(), child.TypeString())
	}
	if f.Kind == Struct {
		return t.merge(child, f, child.typ)
	}
	return nil
}

// containedElement finds a field of the contained struct among the resource types it may hold;
// the first type (in order) that has it gives its type, as when the column was made.
func containedElement(name string) (element, bool) {
	for _, rt := range r4Resources {
		if e, _, ok := lookup(rt, name); ok {
			return e, true
		}
	}
	return element{}, false
}

// NewStringTable is the schema of a table that is not a FHIR resource (the completion tables):
// fixed columns of strings. Its rows must hold nothing else.
func NewStringTable(name string, columns ...string) *Table {
	root := &Column{Name: name, Kind: Struct}
	for _, c := range columns {
		root.Fields = append(root.Fields, &Column{Name: c, Kind: String, typ: "string"})
	}
	return &Table{root: root, fixed: true}
}
