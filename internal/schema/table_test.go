package schema

import (
	"errors"
	"strings"
	"testing"
)

func mustTable(t *testing.T, rt string, rows ...string) *Table {
	t.Helper()
	tb, err := NewTable(rt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := tb.Add([]byte(r)); err != nil {
			t.Fatalf("Add(%s): %v", r, err)
		}
	}
	return tb
}

// column finds a column by dotted path, or nil.
func column(root *Column, path string) *Column {
	c := root
	for _, name := range strings.Split(path, ".") {
		if c = c.Field(name); c == nil {
			return nil
		}
	}
	return c
}

// Issue 7, item 2: every top-level element of the resource has a column, whatever the data holds,
// and resourceType comes first.
func TestEveryTopLevelElementHasAColumn(t *testing.T) {
	for _, rt := range Resources() {
		tb := mustTable(t, rt)
		root := tb.Root()
		if root.Fields[0].Name != "resourceType" {
			t.Errorf("%s: first column %s", rt, root.Fields[0].Name)
		}
		for _, e := range r4[rt] {
			if root.Field(e.name) == nil {
				t.Errorf("%s: no column %s", rt, e.name)
			}
		}
	}
}

// Issue 7, item 2: the types of Cumulus's schema code, and the rules for what a column holds
// before the data says anything.
func TestColumnsBeforeAnyData(t *testing.T) {
	root := mustTable(t, "Observation").Root()
	for _, tc := range []struct {
		path, want string // want "" means no such column
	}{
		{"id", "string"},
		{"status", "string"},
		{"effectiveDateTime", "string"},            // dateTime stays a string
		{"valueBoolean", "boolean"},                // boolean
		{"valueInteger", "integer"},                // integer -> int32
		{"valueQuantity.value", "double"},          // decimal -> double (primitive child of a top-level struct)
		{"valueQuantity.unit", "string"},           //
		{"valueSampledData.dimensions", "integer"}, // positiveInt -> int32
		{"code.coding", "list<struct<id:string,system:string,version:string,code:string,display:string,userSelected:boolean>>"},
		{"code.text", "string"},
		{"subject", "struct<id:string,reference:string,type:string,display:string>"}, // Reference complete; identifier only when present
		{"effectivePeriod", "struct<id:string,start:string,end:string>"},             // Period complete
		{"identifier.value", "string"},
		{"identifier.type", ""},    // a struct inside a top-level struct: only when present
		{"referenceRange.low", ""}, // likewise
		{"component.code", ""},     // a struct inside a top-level struct: only when present
		{"component.valueQuantity", ""},
		{"code.extension", ""}, // Extension fields of complete types are not forced (they recurse)
		{"_status", ""},        // primitive extensions only when present
	} {
		c := column(root, tc.path)
		switch {
		case tc.want == "" && c != nil:
			t.Errorf("%s: unexpected column %s", tc.path, c.TypeString())
		case tc.want != "" && c == nil:
			t.Errorf("%s: no column", tc.path)
		case c != nil && c.TypeString() != tc.want:
			t.Errorf("%s: %s, want %s", tc.path, c.TypeString(), tc.want)
		}
	}
}

// Issue 7, item 2: deeper fields arrive when the data holds them, complete where their type is
// one of the complete ones, and placed in FHIR order.
func TestDeeperFieldsWhenTheDataHoldsThem(t *testing.T) {
	tb := mustTable(t, "Observation",
		`{"resourceType":"Observation","id":"a","referenceRange":[{"low":{"value":1.5}}],`+
			`"component":[{"valueQuantity":{"value":2},"code":{"text":"c"}}],"subject":{"identifier":{"value":"x"}},`+
			`"valueString":"masked","_valueString":{"extension":[{"url":"u","valueCode":"masked"}]}}`)
	root := tb.Root()
	for path, want := range map[string]string{
		"referenceRange.low":         "struct<id:string,value:double>",
		"component.valueQuantity":    "struct<id:string,value:double>",
		"subject.identifier":         "struct<id:string,value:string>",
		"_valueString.extension":     "list<struct<id:string,url:string,valueCode:string>>",
		"referenceRange.low.value":   "double",
		"component.code.coding.code": "string",
	} {
		if c := column(root, path); c == nil || c.TypeString() != want {
			t.Errorf("%s: got %v, want %s", path, c, want)
		}
	}
	var names []string
	for _, f := range column(root, "component").Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); !strings.HasPrefix(got, "id,code,valueQuantity,") {
		t.Errorf("component fields out of FHIR order: %s", got)
	}
	if i, j := fieldIndex(root, "valueString"), fieldIndex(root, "_valueString"); j != i+1 {
		t.Errorf("_valueString at %d, valueString at %d", j, i)
	}
}

func fieldIndex(c *Column, name string) int {
	for i, f := range c.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Issue 7, item 2: a value that does not fit its column is a clear row error, and the row
// changes nothing (no half-added columns).
func TestRowThatDoesNotFitIsRefusedAndChangesNothing(t *testing.T) {
	for _, tc := range []struct{ name, row, want string }{
		{"string in an integer", `{"resourceType":"Observation","valueInteger":"1"}`, "valueInteger: expected a integer, got a string"},
		{"integer beyond 32 bits", `{"resourceType":"Observation","valueInteger":2147483648}`, "valueInteger: expected a 32-bit integer"},
		{"fraction in an integer", `{"resourceType":"Observation","valueInteger":1.5}`, "32-bit integer"},
		{"decimal beyond a double", `{"resourceType":"Observation","valueQuantity":{"value":1e999}}`, "valueQuantity.value: decimal out of range"},
		{"not an R4 element", `{"resourceType":"Observation","referenceRange":[{"low":{"value":1}}],"valueFoo":1}`, "valueFoo: not an element of FHIR R4 Observation"},
		{"object for a list", `{"resourceType":"Observation","category":{"text":"x"}}`, "category: expected a list"},
		{"list for a single value", `{"resourceType":"Observation","code":[{"text":"x"}]}`, "code: expected a single struct, got a list"},
		{"another resource type", `{"resourceType":"Patient","id":"x"}`, "a Patient resource in a Observation column"},
		{"broken JSON", `{"resourceType":"Observation","id":"x"`, "invalid JSON"},
		{"primitive extension of a struct", `{"resourceType":"Observation","_code":{}}`, "_code: not an element"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := mustTable(t, "Observation")
			before := tb.Root().Clone()
			err := tb.Add([]byte(tc.row))
			if !errors.Is(err, ErrDoesNotFit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrDoesNotFit containing %q", err, tc.want)
			}
			if !tb.Root().Equal(before) {
				t.Errorf("the refused row changed the schema:\n%s\n%s", before.TypeString(), tb.Root().TypeString())
			}
		})
	}
}

// Issue 7, item 2 (as Cumulus does): contained resources share one struct holding the fields of
// every contained type present; a field that would need two types is a row error.
func TestContainedResourcesShareOneStruct(t *testing.T) {
	tb := mustTable(t, "MedicationRequest",
		`{"resourceType":"MedicationRequest","contained":[{"id":"m","resourceType":"Medication","code":{"text":"x"}}]}`,
		`{"resourceType":"MedicationRequest","contained":[{"resourceType":"Organization","name":"y"}]}`)
	c := column(tb.Root(), "contained")
	var names []string
	for _, f := range c.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "resourceType,id,implicitRules,language,code,name" {
		t.Errorf("contained fields: %s", got)
	}
	if got := column(c, "code.coding.code"); got == nil {
		t.Error("contained code is not a complete CodeableConcept")
	}
	err := tb.Add([]byte(`{"resourceType":"MedicationRequest","contained":[{"resourceType":"Location","type":[{"text":"z"}]},{"resourceType":"Device","type":{"text":"z"}}]}`))
	if !errors.Is(err, ErrDoesNotFit) || !strings.Contains(err.Error(), "contained.type") {
		t.Errorf("conflicting contained field: %v", err)
	}
	if column(c, "type") != nil {
		t.Error("the refused row left a contained column behind")
	}
}
