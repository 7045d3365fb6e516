package deid

import (
	"fmt"
	"strings"
)

// compileExtensions compiles [extensions]: every allowed URL (and every understood
// modifierExtension URL) has a definition saying which value[x] types it may carry or, for a
// complex extension, which parts (relative URLs) it has and what each part may carry.
func (c *compiler) compileExtensions(rs *ruleSet) error {
	ext := c.file.Extensions
	coded, err := c.valueDefinition("(extension of unpublished definition)", strings.Join(ext.Coded, " "))
	if err != nil {
		return fmt.Errorf("rules: [extensions] coded: %w", err)
	}
	coded.anyPart = coded
	c.coded = coded
	if rs.extensions, err = c.definitions("allowed", ext.Allowed); err != nil {
		return err
	}
	if rs.modifiers, err = c.definitions("modifiers", ext.Modifiers); err != nil {
		return err
	}
	for url := range rs.extensions {
		if rs.extExpected[url] {
			return fmt.Errorf("rules: extension %q is both allowed and expected_and_dropped", url)
		}
	}
	return nil
}

// definitions compiles one table of extension definitions, keyed by absolute URL.
func (c *compiler) definitions(table string, specs map[string]any) (map[string]*node, error) {
	defs := make(map[string]*node, len(specs))
	for url, spec := range specs {
		if strings.IndexByte(url, ':') < 0 {
			return nil, fmt.Errorf("rules: [extensions.%s] %q is not an absolute URL", table, url)
		}
		n, err := c.definition(url, spec)
		if err != nil {
			return nil, fmt.Errorf("rules: [extensions.%s] %q: %w", table, url, err)
		}
		defs[url] = n
	}
	return defs, nil
}

// definition compiles one extension's entry: a string of value[x] names ("valueCode",
// "valueCoding valueCodeableConcept", or "coded" for the structured types of [extensions]
// coded), or a table of parts, each part's relative URL naming its own value[x] types.
func (c *compiler) definition(name string, spec any) (*node, error) {
	switch s := spec.(type) {
	case string:
		if strings.TrimSpace(s) == "coded" {
			return c.coded, nil
		}
		return c.valueDefinition(name, s)
	case map[string]any:
		n, err := c.valueDefinition(name, "")
		if err != nil {
			return nil, err
		}
		n.parts = make(map[string]*node, len(s))
		for part, ps := range s {
			str, ok := ps.(string)
			if !ok || strings.IndexByte(part, ':') >= 0 {
				return nil, fmt.Errorf("part %q: expected a relative URL and a string of value[x] types", part)
			}
			if n.parts[part], err = c.definition(name+" > "+part, str); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	return nil, fmt.Errorf("expected value[x] types or a table of parts, got %T", spec)
}

// valueDefinition builds the rules of an extension that keeps its url, its modifierExtension
// and extension lists, and only the listed value[x] fields (scrubbed as the Extension datatype
// says).
func (c *compiler) valueDefinition(name, values string) (*node, error) {
	n := &node{name: name, fields: map[string]rule{}}
	for _, f := range []string{"url", "_url", "modifierExtension"} {
		if r, ok := c.extension.fields[f]; ok {
			n.fields[f] = r
		}
	}
	n.fields["extension"] = rule{act: actNestedExtension, node: n}
	for _, v := range strings.Fields(values) {
		r, ok := c.extension.fields[v]
		if !ok || !strings.HasPrefix(v, "value") {
			return nil, fmt.Errorf("%q is not a value[x] of the Extension datatype", v)
		}
		n.fields[v] = r
		n.setWhy(v, c.extension.whys[v])
		if sib, ok := c.extension.fields["_"+v]; ok {
			n.fields["_"+v] = sib
		}
	}
	n.table = newFieldTable(n.fields)
	return n, nil
}

// siteSystem is a code system whose codes and displays a site (not the vendor) defines, so they
// may hold whatever a site's staff typed. Systems are matched however they are written: in any
// case, with surrounding spaces, with or without "urn:oid:".
type siteSystem struct {
	Vendor  string `toml:"vendor"`
	Source  string `toml:"source"`   // where the system's form is documented
	OID     string `toml:"oid"`      // a root OID: the system is it or one of its arcs
	URLHost string `toml:"url_host"` // or an http(s) system on this host or a subdomain of it...
	URLPath string `toml:"url_path"` // ...whose path contains this
}

func compileSiteSystems(list []siteSystem) ([]siteSystem, error) {
	out := make([]siteSystem, len(list))
	for i, s := range list {
		if s.Vendor == "" || s.Source == "" {
			return nil, fmt.Errorf("rules: [[systems.site_specific]] %d: vendor and source are required", i+1)
		}
		if (s.OID == "") == (s.URLHost == "") || (s.URLHost != "" && s.URLPath == "") {
			return nil, fmt.Errorf("rules: [[systems.site_specific]] %s: give either oid, or url_host and url_path", s.Vendor)
		}
		s.OID, s.URLHost, s.URLPath = strings.TrimPrefix(strings.ToLower(s.OID), "urn:oid:"), strings.ToLower(s.URLHost), strings.ToLower(s.URLPath)
		out[i] = s
	}
	return out, nil
}
