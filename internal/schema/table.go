package schema

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"cumulus-etl/internal/schema/jsonrow"
)

// fullTypes are always written complete once any part of them is present, so SQL can rely on
// every one of their fields existing (Extension fields excepted: they are recursive).
var fullTypes = map[string]bool{"CodeableConcept": true, "Coding": true, "Period": true, "Reference": true}

// containedType is the type key of the contained column: its fields are the union of the fields
// that the contained resources of the table hold.
const containedType = "Resource"

// containedBase are the fields every contained struct has, whatever the data holds.
var containedBase = []string{"resourceType", "id", "implicitRules", "language"}

var index = sync.OnceValue(func() map[string]map[string]int {
	out := make(map[string]map[string]int, len(r4))
	for typ, elements := range r4 {
		m := make(map[string]int, len(elements))
		for i, e := range elements {
			m[e.name] = i
		}
		out[typ] = m
	}
	return out
})

func lookup(typ, name string) (element, int, bool) {
	i, ok := index()[typ][name]
	if !ok {
		return element{}, 0, false
	}
	return r4[typ][i], i, true
}

// ErrDoesNotFit wraps every error about a row whose values do not fit the table's FHIR types.
var ErrDoesNotFit = errors.New("row does not fit its FHIR R4 columns")

// Table is the column schema of one output table. It starts with the columns every table of its
// resource type has and grows, row by row, by the deeper fields the rows hold; a column, once
// there, never changes type. A Table is not safe for concurrent use.
type Table struct {
	resource string
	root     *Column
	r        jsonrow.Reader
	added    []added  // columns the current row created, undone if the row does not fit
	path     [][]byte // field names from the row down to the current one, for messages
	fixed    bool     // a table of fixed string columns (NewStringTable)
}

type added struct{ parent, child *Column }

// NewTable starts the schema of a table of the given resource type.
func NewTable(resourceType string) (*Table, error) {
	if !HasResource(resourceType) {
		return nil, fmt.Errorf("no FHIR R4 type tables for resource type %q", resourceType)
	}
	root := &Column{Name: resourceType, Kind: Struct, typ: resourceType}
	root.Fields = append(root.Fields, &Column{Name: "resourceType", Kind: String, typ: "string"})
	for i, e := range r4[resourceType] {
		root.Fields = append(root.Fields, newColumn(e, i, 0))
	}
	return &Table{resource: resourceType, root: root}, nil
}

// Root returns the table's columns as one struct. The caller must not change it.
func (t *Table) Root() *Column { return t.root }

// newColumn makes the column for element e (the i-th of its type) at the given depth (0 for a
// resource's own elements), with the fields that such a column always has.
func newColumn(e element, i, depth int) *Column {
	c := &Column{Name: e.name, List: e.list, typ: e.typ, elem: e}
	if k, ok := primitiveKind(e.typ); ok {
		c.Kind = k
		return c
	}
	c.Kind = Struct
	if e.typ == containedType {
		for _, name := range containedBase {
			c.Fields = append(c.Fields, &Column{Name: name, Kind: String, typ: "string"})
		}
		return c
	}
	full := fullTypes[e.typ]
	for j, child := range r4[e.typ] {
		_, primitive := primitiveKind(child.typ)
		switch {
		case full && child.typ != "Extension" && (primitive || fullTypes[child.typ]):
		case depth == 0 && primitive:
		default:
			continue
		}
		c.Fields = append(c.Fields, newColumn(child, j, depth+1))
	}
	if len(c.Fields) == 0 { // Parquet has no empty groups; every FHIR element has an id
		c.Fields = append(c.Fields, &Column{Name: "id", Kind: String, typ: "string", elem: element{name: "id", typ: "string"}})
	}
	return c
}

// Add checks that row (a JSON resource) fits the table's FHIR types and grows the schema by the
// fields it holds that have no column yet. A row that does not fit changes nothing; its error
// wraps ErrDoesNotFit and names the field.
func (t *Table) Add(row []byte) error {
	t.r.Reset(row)
	t.added, t.path = t.added[:0], t.path[:0]
	var err error
	if t.fixed {
		err = t.fixedRow()
	} else {
		err = t.object(t.root, t.resource, true)
	}
	if err == nil {
		err = t.r.Finish()
	}
	if err != nil {
		for i := len(t.added) - 1; i >= 0; i-- {
			a := t.added[i]
			a.parent.Fields = slices.DeleteFunc(a.parent.Fields, func(c *Column) bool { return c == a.child })
		}
		if errors.Is(err, ErrDoesNotFit) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrDoesNotFit, err)
	}
	return nil
}

func (t *Table) fail(format string, args ...any) error {
	names := make([]string, len(t.path))
	for i, p := range t.path {
		names[i] = string(p)
	}
	where := strings.Join(names, ".")
	if where == "" {
		where = "(the resource)"
	}
	return fmt.Errorf("%w: %s: %s", ErrDoesNotFit, where, fmt.Sprintf(format, args...))
}

// object reads an object of FHIR type typ into struct column c. resource says the object is a
// resource, whose resourceType must equal typ.
func (t *Table) object(c *Column, typ string, resource bool) error {
	if err := t.r.BeginObject(); err != nil {
		return err
	}
	prev := -1 // the field before, to predict the next (rows repeat one key order)
	for {
		key, ok, err := t.r.Key()
		if err != nil || !ok {
			return err
		}
		if t.r.Escaped() {
			key = append([]byte(nil), key...)
		}
		t.path = append(t.path, key)
		if i := c.find(prev, key); i >= 0 && c.typ != containedType && !(resource && i == 0) {
			// A column that exists: its type is the element's (only contained fields vary).
			if err := t.value(c.Fields[i], c.Fields[i].elem); err != nil {
				return err
			}
			prev = i
		} else {
			if err := t.member(c, typ, string(key), resource); err != nil {
				return err
			}
			prev = -1
		}
		t.path = t.path[:len(t.path)-1]
	}
}

func (t *Table) member(c *Column, typ, name string, resource bool) error {
	if resource && name == "resourceType" {
		s, err := t.r.String()
		if err != nil {
			return t.fail("expected a string")
		}
		if string(s) != typ {
			return t.fail("a %s resource in a %s column", s, typ)
		}
		return nil
	}
	e, i, ok := lookup(typ, name)
	if !ok && strings.HasPrefix(name, "_") { // a primitive's extensions and id
		if base, _, found := lookup(typ, name[1:]); found {
			if _, primitive := primitiveKind(base.typ); primitive {
				e, i, ok = element{name: name, typ: "Element", list: base.list}, -1, true
			}
		}
	}
	if !ok {
		return t.fail("not an element of FHIR R4 %s", typ)
	}
	child := c.Field(name)
	if child == nil {
		child = newColumn(e, i, 2)
		child.elem = e
		t.insert(c, child, typ, name)
	} else if child.typ != e.typ || child.List != e.list {
		return t.fail("%s here, but the column (made for another contained resource type) is %s",
			describe(e), child.TypeString())
	}
	return t.value(child, e)
}

// insert adds child to c in FHIR element order (by name in the contained struct).
func (t *Table) insert(c, child *Column, typ, name string) {
	t.added = append(t.added, added{c, child})
	pos := len(c.Fields)
	key := t.orderKey(c, typ, name)
	for j, f := range c.Fields {
		if t.orderKey(c, typ, f.Name) > key {
			pos = j
			break
		}
	}
	c.Fields = slices.Insert(c.Fields, pos, child)
	c.follow = nil // indexes moved
}

func (t *Table) orderKey(c *Column, typ, name string) string {
	if c.typ == containedType {
		if i := slices.Index(containedBase, name); i >= 0 {
			return string(rune(i))
		}
		return "\x7f" + name
	}
	base := strings.TrimPrefix(name, "_")
	_, i, _ := lookup(typ, base)
	suffix := "0"
	if base != name {
		suffix = "1"
	}
	return fmt.Sprintf("%06d%s", i, suffix)
}

func describe(e element) string {
	if e.list {
		return "list<" + e.typ + ">"
	}
	return e.typ
}

// value reads the value of element e into column c.
func (t *Table) value(c *Column, e element) error {
	if t.r.Peek() == jsonrow.Null {
		return t.r.Null()
	}
	if !e.list {
		return t.item(c, e.typ)
	}
	if t.r.Peek() != jsonrow.Array {
		return t.fail("expected a list")
	}
	if err := t.r.BeginArray(); err != nil {
		return err
	}
	for {
		more, err := t.r.More()
		if err != nil || !more {
			return err
		}
		if t.r.Peek() == jsonrow.Null {
			if err := t.r.Null(); err != nil {
				return err
			}
			continue
		}
		if err := t.item(c, e.typ); err != nil {
			return err
		}
	}
}

// item reads one (not list) value of FHIR type typ.
func (t *Table) item(c *Column, typ string) error {
	switch t.r.Peek() {
	case jsonrow.Object:
		if c.Kind != Struct {
			return t.fail("expected a %s, got an object", c.Kind)
		}
		if typ == containedType {
			return t.contained(c)
		}
		return t.object(c, typ, false)
	case jsonrow.String:
		if c.Kind != String {
			return t.fail("expected a %s, got a string", c.Kind)
		}
		_, err := t.r.String()
		return err
	case jsonrow.Number:
		num, err := t.r.Number()
		if err != nil {
			return err
		}
		return t.number(c.Kind, num)
	case jsonrow.True, jsonrow.False:
		if c.Kind != Boolean {
			return t.fail("expected a %s, got a boolean", c.Kind)
		}
		_, err := t.r.Bool()
		return err
	case jsonrow.Array:
		return t.fail("expected a single %s, got a list", c.Kind)
	}
	return t.r.Skip() // reports the syntax error
}

func (t *Table) number(k Kind, num []byte) error {
	switch k {
	case Int32:
		if _, err := strconv.ParseInt(string(num), 10, 32); err != nil {
			return t.fail("expected a 32-bit integer")
		}
	case Double:
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsInf(f, 0) {
			return t.fail("decimal out of range for a double")
		}
	default:
		return t.fail("expected a %s, got a number", k)
	}
	return nil
}

// contained reads one contained resource: its own resource type says what its fields are.
func (t *Table) contained(c *Column) error {
	rt, err := t.peekResourceType()
	if err != nil {
		return err
	}
	if !HasResource(rt) {
		return t.fail("contained resource type %q has no FHIR R4 type tables", rt)
	}
	return t.object(c, rt, true)
}

// peekResourceType finds the resourceType member of the object ahead without consuming it.
func (t *Table) peekResourceType() (string, error) {
	mark := t.r.Mark()
	defer t.r.Rewind(mark)
	if err := t.r.BeginObject(); err != nil {
		return "", err
	}
	for {
		key, ok, err := t.r.Key()
		if err != nil {
			return "", err
		}
		if !ok {
			return "", t.fail("contained resource without a resourceType")
		}
		if string(key) == "resourceType" {
			s, err := t.r.String()
			return string(s), err
		}
		if err := t.r.Skip(); err != nil {
			return "", err
		}
	}
}

// fixedRow checks a row of a NewStringTable: an object of its string columns (or nulls).
func (t *Table) fixedRow() error {
	if err := t.r.BeginObject(); err != nil {
		return err
	}
	for {
		key, ok, err := t.r.Key()
		if err != nil || !ok {
			return err
		}
		t.path = append(t.path[:0], key)
		if t.root.Field(string(key)) == nil {
			return t.fail("not a column of %s", t.root.Name)
		}
		switch t.r.Peek() {
		case jsonrow.Null:
			err = t.r.Null()
		case jsonrow.String:
			_, err = t.r.String()
		default:
			return t.fail("expected a string")
		}
		if err != nil {
			return err
		}
	}
}
