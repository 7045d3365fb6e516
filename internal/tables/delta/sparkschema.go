package delta

import (
	"encoding/json"
	"fmt"

	"cumulus-etl/internal/schema"
)

// A Delta schemaString is Spark's JSON form of a StructType.

type sparkField struct {
	Name     string          `json:"name"`
	Type     json.RawMessage `json:"type"`
	Nullable bool            `json:"nullable"`
	Metadata map[string]any  `json:"metadata"`
}

type sparkType struct {
	Type         string          `json:"type"`
	Fields       []sparkField    `json:"fields,omitempty"`
	ElementType  json.RawMessage `json:"elementType,omitempty"`
	ContainsNull *bool           `json:"containsNull,omitempty"`
}

// SchemaString encodes a table's columns (a struct) as a Delta schemaString.
func SchemaString(root *schema.Column) (string, error) {
	b, err := json.Marshal(structType(root))
	return string(b), err
}

func structType(c *schema.Column) sparkType {
	st := sparkType{Type: "struct", Fields: []sparkField{}}
	for _, f := range c.Fields {
		st.Fields = append(st.Fields, sparkField{Name: f.Name, Type: fieldType(f), Nullable: true, Metadata: map[string]any{}})
	}
	return st
}

func fieldType(c *schema.Column) json.RawMessage {
	var elem json.RawMessage
	if c.Kind == schema.Struct {
		elem, _ = json.Marshal(structType(c))
	} else {
		elem, _ = json.Marshal(c.Kind.String())
	}
	if !c.List {
		return elem
	}
	yes := true
	b, _ := json.Marshal(sparkType{Type: "array", ElementType: elem, ContainsNull: &yes})
	return b
}

// ParseSchemaString decodes a schemaString into columns, refusing Spark types that the ETL's
// tables never have (long, timestamp, map, ...): such a table was not made by the ETL.
func ParseSchemaString(name, s string) (*schema.Column, error) {
	var st sparkType
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("schemaString: %w", err)
	}
	if st.Type != "struct" {
		return nil, fmt.Errorf("schemaString is a %s, not a struct", st.Type)
	}
	return fromStruct(name, st)
}

func fromStruct(name string, st sparkType) (*schema.Column, error) {
	c := &schema.Column{Name: name, Kind: schema.Struct}
	for _, f := range st.Fields {
		fc, err := fromType(f.Name, f.Type, false)
		if err != nil {
			return nil, err
		}
		c.Fields = append(c.Fields, fc)
	}
	return c, nil
}

func fromType(name string, raw json.RawMessage, inList bool) (*schema.Column, error) {
	var simple string
	if json.Unmarshal(raw, &simple) == nil {
		c := &schema.Column{Name: name}
		switch simple {
		case "string":
			c.Kind = schema.String
		case "integer":
			c.Kind = schema.Int32
		case "double":
			c.Kind = schema.Double
		case "boolean":
			c.Kind = schema.Boolean
		default:
			return nil, fmt.Errorf("column %s has Spark type %s, which the ETL's tables do not use", name, simple)
		}
		return c, nil
	}
	var st sparkType
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("column %s: %w", name, err)
	}
	switch st.Type {
	case "struct":
		return fromStruct(name, st)
	case "array":
		if inList {
			return nil, fmt.Errorf("column %s is a list of lists, which the ETL's tables do not use", name)
		}
		c, err := fromType(name, st.ElementType, true)
		if err != nil {
			return nil, err
		}
		c.List = true
		return c, nil
	}
	return nil, fmt.Errorf("column %s has Spark type %s, which the ETL's tables do not use", name, st.Type)
}
