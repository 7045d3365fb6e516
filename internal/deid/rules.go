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
	actKeep action = iota + 1 // keep a primitive of the rule's class
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

// isLeaf reports whether a applies to primitives (and so has a "_field" sibling).
func (a action) isLeaf() bool { return a >= actKeep && a <= actCheckSystem }

// class is what a kept primitive is. The rules file gives every leaf rule one, so that free
// text (which may hold anything a person typed) is never kept without a stated reason.
type class uint8

const (
	classNone       class = iota // masks and containers keep no primitive of their own
	classCode                    // a code, URI, boolean or other value from a fixed vocabulary
	classDate                    // a date, dateTime, instant or time
	classNumber                  // a JSON number
	classIdentifier              // an id or identifier value
	classText                    // free text
)

// leafWords are the actions spelled as lowercase words in rules.toml that apply to primitives,
// each with the class of what it keeps.
var leafWords = map[string]rule{
	"code":          {act: actKeep, class: classCode},
	"date":          {act: actKeep, class: classDate},
	"number":        {act: actKeep, class: classNumber},
	"identifier":    {act: actKeep, class: classIdentifier},
	"text":          {act: actKeep, class: classText},
	"mask":          {act: actMask},
	"anon-id":       {act: actAnonID, class: classIdentifier},
	"anon-ref":      {act: actAnonRef, class: classIdentifier},
	"year":          {act: actYear, class: classDate},
	"zip":           {act: actZip, class: classCode},
	"check-code":    {act: actCheckSystem, class: classCode},
	"check-display": {act: actCheckSystem, class: classText},
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
	act   action
	class class
	node  *node // for actNode and actPrimitiveExt; for actNestedExtension, the parent extension's definition
}

// node is the compiled rule set of a datatype, backbone element, resource or extension
// definition: every field that may stay, looked up by its JSON name.
type node struct {
	name    string          // "CodeableConcept", "Condition.stage", an extension URL...: names counters
	fields  map[string]rule // includes "_x" siblings of primitive fields
	systems map[string]bool // for subsets: elements must have one of these systems
	table   fieldTable      // fields again, for the byte-level scrubber
	parts   map[string]*node
	anyPart *node             // for extensions of unpublished definition: any relative part, with these rules
	whys    map[string]string // the reason written after a field's word ("text: why"); required for free text
}

// ruleSet is the compiled, immutable rules file.
type ruleSet struct {
	resources      map[string]*node
	extensions     map[string]*node // allowed extension URL → its definition
	modifiers      map[string]*node // allowed modifierExtension URL → its definition
	extExpected    map[string]bool
	siteSpecific   []siteSystem
	restrictedZip3 map[string]bool
	usCountries    map[string]bool // lowercase
	usStates       map[string]bool // lowercase
}

// ruleFile is rules.toml as written.
type ruleFile struct {
	Systems struct {
		SiteSpecific []siteSystem `toml:"site_specific"`
	} `toml:"systems"`
	Zip struct {
		RestrictedZip3 []string `toml:"restricted_zip3"`
		USCountries    []string `toml:"us_countries"`
		USStates       []string `toml:"us_states"`
	} `toml:"zip"`
	Element    map[string]string         `toml:"element"`
	Resource   map[string]string         `toml:"resource"`
	Datatypes  map[string]map[string]any `toml:"datatypes"`
	Subsets    map[string]subsetFile     `toml:"subsets"`
	Resources  map[string]map[string]any `toml:"resources"`
	Extensions struct {
		Coded              []string       `toml:"coded"`
		Allowed            map[string]any `toml:"allowed"`
		ExpectedAndDropped []string       `toml:"expected_and_dropped"`
		Modifiers          map[string]any `toml:"modifiers"`
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
		switch key[0] {
		case "datatypes", "resources":
		case "extensions":
			if len(key) < 2 || (key[1] != "allowed" && key[1] != "modifiers") {
				return nil, fmt.Errorf("rules: unknown key %q", key.String())
			}
		default:
			return nil, fmt.Errorf("rules: unknown key %q", key.String())
		}
	}
	c := compiler{file: &f, named: map[string]*node{}}
	return c.compile()
}

type compiler struct {
	file      *ruleFile
	named     map[string]*node // datatypes and subsets
	element   *node
	extension *node // the Extension datatype: how each value[x] is scrubbed
	coded     *node // the definition of extensions whose definition is not published
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
	if c.extension = c.named["Extension"]; c.extension == nil || c.extension.systems != nil {
		return nil, fmt.Errorf("rules: the Extension datatype is missing")
	}
	rs := &ruleSet{
		resources:      map[string]*node{},
		extExpected:    toSet(f.Extensions.ExpectedAndDropped),
		restrictedZip3: toSet(f.Zip.RestrictedZip3),
		usCountries:    toSet(lower(f.Zip.USCountries)),
		usStates:       toSet(lower(f.Zip.USStates)),
	}
	var err error
	if rs.siteSpecific, err = compileSiteSystems(f.Systems.SiteSpecific); err != nil {
		return nil, err
	}
	if err := c.compileExtensions(rs); err != nil {
		return nil, err
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
		r, why, err := c.resolve(s)
		if err != nil {
			return fmt.Errorf("rules: %s.%s: %w", n.name, field, err)
		}
		n.fields[field] = r
		n.setWhy(field, why)
		if r.act.isLeaf() {
			n.fields["_"+field] = rule{act: actPrimitiveExt, node: c.element}
		}
	default:
		return fmt.Errorf("rules: %s.%s: expected an action or a table, got %T", n.name, field, spec)
	}
	return nil
}

// resolve compiles "word" or "word: reason".
func (c *compiler) resolve(spec string) (rule, string, error) {
	word, why, _ := strings.Cut(spec, ":")
	word, why = strings.TrimSpace(word), strings.TrimSpace(why)
	if r, ok := leafWords[word]; ok {
		if r.class == classText && why == "" {
			return rule{}, "", fmt.Errorf("%q keeps free text: write the reason after it (%q)", word, word+": why")
		}
		return r, why, nil
	}
	if act, ok := listActions[word]; ok {
		return rule{act: act}, why, nil
	}
	if n := c.named[word]; n != nil {
		return rule{act: actNode, node: n}, why, nil
	}
	return rule{}, "", fmt.Errorf("unknown action or datatype %q", word)
}

// setWhy records the reason written for a field, if any.
func (n *node) setWhy(field, why string) {
	if why == "" {
		return
	}
	if n.whys == nil {
		n.whys = map[string]string{}
	}
	n.whys[field] = why
}

func toSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
}

func lower(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}
