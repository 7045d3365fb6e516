package deid

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed rules.toml
var embeddedRules []byte

// action is what the scrubber does with one field.
type action uint8

const (
	actKeep action = iota + 1
	actMask
	actAnonID
	actAnonRef
	actYear
	actZip
	actCheckSystem
	actExtension
	actNestedExtension
	actModifierExtension
	actContained
	actNode         // recurse with rule.node
	actPrimitiveExt // a primitive's "_field" sibling: Element content, null placeholders kept
)

// leafActions are the actions spelled as lowercase words in rules.toml that apply to primitives.
var leafActions = map[string]action{
	"keep":         actKeep,
	"mask":         actMask,
	"anon-id":      actAnonID,
	"anon-ref":     actAnonRef,
	"year":         actYear,
	"zip":          actZip,
	"check-system": actCheckSystem,
}

// listActions are the other lowercase actions; they take arrays of objects.
var listActions = map[string]action{
	"extension":          actExtension,
	"nested-extension":   actNestedExtension,
	"modifier-extension": actModifierExtension,
	"contained":          actContained,
}

// rule is the compiled form of one field's entry.
type rule struct {
	act  action
	node *node // for actNode and actPrimitiveExt
}

// node is the compiled rule set of a datatype, backbone element or resource: every field that
// may stay, looked up by its JSON name.
type node struct {
	name    string          // "CodeableConcept", "Condition.stage", ...: names counters
	fields  map[string]rule // includes "_x" siblings of primitive fields
	systems map[string]bool // for subsets: elements must have one of these systems
	table   fieldTable      // fields again, for the byte-level scrubber
}

// ruleSet is the compiled, immutable rules file.
type ruleSet struct {
	resources        map[string]*node
	extension        *node // the Extension datatype, for allowed extensions
	siteSpecific     []string
	restrictedZip3   map[string]bool
	extAllowed       map[string]bool
	extExpected      map[string]bool
	modifiersAllowed map[string]bool
}

// ruleFile is rules.toml as written.
type ruleFile struct {
	Systems struct {
		SiteSpecific []string `toml:"site_specific"`
	} `toml:"systems"`
	Zip struct {
		RestrictedZip3 []string `toml:"restricted_zip3"`
	} `toml:"zip"`
	Element    map[string]string         `toml:"element"`
	Resource   map[string]string         `toml:"resource"`
	Datatypes  map[string]map[string]any `toml:"datatypes"`
	Subsets    map[string]subsetFile     `toml:"subsets"`
	Resources  map[string]map[string]any `toml:"resources"`
	Extensions struct {
		Allowed            []string `toml:"allowed"`
		ExpectedAndDropped []string `toml:"expected_and_dropped"`
		ModifiersAllowed   []string `toml:"modifiers_allowed"`
	} `toml:"extensions"`
}

type subsetFile struct {
	Of      string   `toml:"of"`
	Systems []string `toml:"systems"`
}

// compileRules parses a rules file and resolves every datatype name, failing on any unknown
// action or datatype so a typo can never silently drop (or keep) a field.
func compileRules(data []byte) (*ruleSet, error) {
	var f ruleFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for _, key := range md.Undecoded() {
		// Field tables decode into maps whose keys the compiler checks itself.
		if key[0] != "datatypes" && key[0] != "resources" {
			return nil, fmt.Errorf("rules: unknown key %q", key.String())
		}
	}
	c := compiler{file: &f, named: map[string]*node{}}
	return c.compile()
}

type compiler struct {
	file    *ruleFile
	named   map[string]*node // datatypes and subsets
	element *node
}

func (c *compiler) compile() (*ruleSet, error) {
	f := c.file
	for name := range f.Datatypes {
		c.named[name] = &node{name: name}
	}
	for name := range f.Subsets {
		if c.named[name] != nil {
			return nil, fmt.Errorf("rules: %q is both a datatype and a subset", name)
		}
		c.named[name] = &node{name: name}
	}
	c.element = &node{name: "Element"}
	if err := c.fill(c.element, nil, nil); err != nil {
		return nil, err
	}
	for name, fields := range f.Datatypes {
		if err := c.fill(c.named[name], fields, nil); err != nil {
			return nil, err
		}
	}
	for name, sub := range f.Subsets {
		base := c.named[sub.Of]
		if base == nil || f.Subsets[sub.Of].Of != "" {
			return nil, fmt.Errorf("rules: subset %q: %q is not a datatype", name, sub.Of)
		}
		n := c.named[name]
		n.fields, n.table, n.systems = base.fields, base.table, toSet(sub.Systems)
	}
	rs := &ruleSet{
		resources:        map[string]*node{},
		extension:        c.named["Extension"],
		siteSpecific:     f.Systems.SiteSpecific,
		restrictedZip3:   toSet(f.Zip.RestrictedZip3),
		extAllowed:       toSet(f.Extensions.Allowed),
		extExpected:      toSet(f.Extensions.ExpectedAndDropped),
		modifiersAllowed: toSet(f.Extensions.ModifiersAllowed),
	}
	if rs.extension == nil || rs.extension.systems != nil {
		return nil, fmt.Errorf("rules: the Extension datatype is missing")
	}
	for name, fields := range f.Resources {
		n := &node{name: name}
		if err := c.fill(n, fields, f.Resource); err != nil {
			return nil, err
		}
		rs.resources[name] = n
	}
	return rs, nil
}

// fill compiles a table's fields into n, on top of [element] (and extra, for resources).
func (c *compiler) fill(n *node, fields map[string]any, extra map[string]string) error {
	n.fields = map[string]rule{}
	for _, base := range []map[string]string{c.file.Element, extra} {
		for field, spec := range base {
			if err := c.add(n, field, spec); err != nil {
				return err
			}
		}
	}
	for field, spec := range fields {
		if err := c.add(n, field, spec); err != nil {
			return err
		}
	}
	n.table = newFieldTable(n.fields)
	return nil
}

// add compiles one field; a table is a backbone element named after its path.
func (c *compiler) add(n *node, field string, spec any) error {
	if strings.HasPrefix(field, "_") {
		return fmt.Errorf("rules: %s.%s: field names may not start with '_'", n.name, field)
	}
	switch s := spec.(type) {
	case map[string]any:
		backbone := &node{name: n.name + "." + field}
		if err := c.fill(backbone, s, nil); err != nil {
			return err
		}
		n.fields[field] = rule{act: actNode, node: backbone}
	case string:
		r, err := c.resolve(s)
		if err != nil {
			return fmt.Errorf("rules: %s.%s: %w", n.name, field, err)
		}
		n.fields[field] = r
		if _, leaf := leafActions[s]; leaf {
			n.fields["_"+field] = rule{act: actPrimitiveExt, node: c.element}
		}
	default:
		return fmt.Errorf("rules: %s.%s: expected an action or a table, got %T", n.name, field, spec)
	}
	return nil
}

func (c *compiler) resolve(spec string) (rule, error) {
	if act, ok := leafActions[spec]; ok {
		return rule{act: act}, nil
	}
	if act, ok := listActions[spec]; ok {
		return rule{act: act}, nil
	}
	if n := c.named[spec]; n != nil {
		return rule{act: actNode, node: n}, nil
	}
	return rule{}, fmt.Errorf("unknown action or datatype %q", spec)
}

func toSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
}
