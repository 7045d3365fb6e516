// Package schema gives output tables their column types from FHIR R4, not from guesses about the
// data, so every batch and every run of a table has compatible columns. The type tables (r4_gen.go)
// are generated from the official StructureDefinitions by ./gen; see scripts/gen-schema.sh.
//
// A table's columns follow the rules of Cumulus's own schema code (cumulus-fhir-support), so
// Cumulus Library's SQL finds the columns it expects: every top-level element of the resource;
// for top-level structs, all their primitive children; CodeableConcept, Coding, Period and
// Reference complete once any part of them is present; anything deeper only when the data holds
// it. Primitive types map to string, int32 (integer, positiveInt, unsignedInt), double (decimal)
// and boolean; dates stay strings, as in the JSON.
package schema

//go:generate sh ../../scripts/gen-schema.sh

import (
	"fmt"
	"slices"
)

// element is one field of a FHIR type in the generated tables.
type element struct {
	name string // JSON name; choice types are expanded (valueQuantity, valueString, ...)
	typ  string // a primitive kind ("string", "int32", "double", "boolean") or a key of r4
	list bool
}

// Kind is a column's type.
type Kind uint8

// Column kinds.
const (
	String Kind = iota + 1
	Int32
	Double
	Boolean
	Struct
)

// String returns the kind's name as Spark spells it in a Delta schema.
func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Int32:
		return "integer"
	case Double:
		return "double"
	case Boolean:
		return "boolean"
	case Struct:
		return "struct"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func primitiveKind(typ string) (Kind, bool) {
	switch typ {
	case "string":
		return String, true
	case "int32":
		return Int32, true
	case "double":
		return Double, true
	case "boolean":
		return Boolean, true
	}
	return 0, false
}

// Column is one column of a table, or one field of a struct column. Every column is nullable.
type Column struct {
	Name   string
	Kind   Kind
	List   bool      // a list of Kind values
	Fields []*Column // a struct's fields, in FHIR order
	typ    string    // the FHIR type key for structs; "" for columns read from an existing table
	elem   element   // the FHIR element the column holds
	follow []int32   // follow[i+1]: the field that came after field i last time (+1), for find
}

// find returns the index of the field named key, or -1, trying first the field that followed
// field prev last time: rows repeat one key order, so this is usually one comparison.
func (c *Column) find(prev int, key []byte) int {
	if c.follow == nil {
		c.follow = make([]int32, len(c.Fields)+1)
	}
	if n := c.follow[prev+1]; n > 0 && c.Fields[n-1].Name == string(key) {
		return int(n - 1)
	}
	for i, f := range c.Fields {
		if f.Name == string(key) {
			c.follow[prev+1] = int32(i + 1)
			return i
		}
	}
	return -1
}

// Field returns the struct field with the given name, or nil.
func (c *Column) Field(name string) *Column {
	for _, f := range c.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Clone returns a deep copy.
func (c *Column) Clone() *Column {
	out := *c
	out.follow = nil
	out.Fields = make([]*Column, len(c.Fields))
	for i, f := range c.Fields {
		out.Fields[i] = f.Clone()
	}
	return &out
}

// Equal reports whether two columns have the same name, type and fields, in the same order.
func (c *Column) Equal(o *Column) bool {
	if c.Name != o.Name || c.Kind != o.Kind || c.List != o.List || len(c.Fields) != len(o.Fields) {
		return false
	}
	for i := range c.Fields {
		if !c.Fields[i].Equal(o.Fields[i]) {
			return false
		}
	}
	return true
}

// TypeString describes the column's type, such as list<struct<code:string,...>>.
func (c *Column) TypeString() string {
	s := c.Kind.String()
	if c.Kind == Struct {
		s = "struct<"
		for i, f := range c.Fields {
			if i > 0 {
				s += ","
			}
			s += f.Name + ":" + f.TypeString()
		}
		s += ">"
	}
	if c.List {
		s = "list<" + s + ">"
	}
	return s
}

// Resources returns the resource types that have FHIR type tables.
func Resources() []string { return slices.Clone(r4Resources) }

// HasResource reports whether resourceType has type tables.
func HasResource(resourceType string) bool { return slices.Contains(r4Resources, resourceType) }
