package deid

import (
	"encoding/json"
	"strings"
)

// walker scrubs one resource. resType is the resource type that anon-id hashes under.
type walker struct {
	s       *Scrubber
	resType string
}

// fixups are changes to an object that wait until its fields have all been visited, because Go
// map iteration may or may not visit keys added during the loop.
type fixups struct {
	masked     []maskedField
	markAbsent bool // a check-system field was removed: mark the element
}

type maskedField struct {
	name  string
	count int // elements of a masked array, or -1 for a single value
}

// object scrubs m in place with n's rules and reports whether m should stay: false when it is
// empty afterwards or fails n's system filter.
func (w *walker) object(m map[string]any, n *node) (bool, error) {
	if n.systems != nil {
		if sys, _ := m["system"].(string); !n.systems[sys] {
			return false, nil
		}
	}
	var after fixups
	for k, v := range m {
		r, ok := n.fields[k]
		if !ok || v == nil {
			delete(m, k)
			continue
		}
		keep, err := w.field(m, n, k, v, r, &after)
		if err != nil {
			return false, err
		}
		if !keep {
			delete(m, k)
		}
	}
	after.apply(m)
	return len(m) > 0, nil
}

// field applies rule r to m[k] (= v), replacing m[k] itself when the value changes. It reports
// whether the field stays.
func (w *walker) field(m map[string]any, n *node, k string, v any, r rule, after *fixups) (bool, error) {
	switch r.act {
	case actNode:
		return w.nodes(m, n, k, v, r.node)
	case actPrimitiveExt:
		return w.primitiveExt(n, k, v, r.node)
	case actExtension, actNestedExtension:
		return w.extensions(m, n, k, v, r.node)
	case actModifierExtension:
		return w.modifierExtensions(m, n, k, v)
	case actContained:
		return w.contained(m, n, k, v)
	case actMask:
		count := -1
		if list, ok := v.([]any); ok {
			count = len(list)
		}
		after.masked = append(after.masked, maskedField{name: k, count: count})
		return false, nil
	}
	return w.leaf(m, n, k, v, r, after)
}

// nodes recurses into an object or an array of objects; anything else is a shape mismatch.
func (w *walker) nodes(m map[string]any, n *node, k string, v any, child *node) (bool, error) {
	switch t := v.(type) {
	case map[string]any:
		return w.object(t, child)
	case []any:
		out := t[:0]
		for _, e := range t {
			em, ok := e.(map[string]any)
			if !ok {
				w.mismatch(n, k)
				continue
			}
			keep, err := w.object(em, child)
			if err != nil {
				return false, err
			}
			if keep {
				out = append(out, em)
			}
		}
		return w.storeList(m, k, t, out), nil
	}
	w.mismatch(n, k)
	return false, nil
}

// storeList writes a filtered array back (it shares t's backing array) and reports whether it
// is non-empty.
func (w *walker) storeList(m map[string]any, k string, t, out []any) bool {
	if len(out) == 0 {
		return false
	}
	if len(out) != len(t) {
		clear(t[len(out):])
		m[k] = out
	}
	return true
}

// primitiveExt scrubs a primitive's "_field" sibling: an Element, or for arrays a list of
// Elements and nulls that must stay aligned with the primitive array.
func (w *walker) primitiveExt(n *node, k string, v any, elem *node) (bool, error) {
	switch t := v.(type) {
	case map[string]any:
		return w.object(t, elem)
	case []any:
		kept := false
		for i, e := range t {
			if em, ok := e.(map[string]any); ok {
				keep, err := w.object(em, elem)
				if err != nil {
					return false, err
				}
				if keep {
					kept = true
					continue
				}
			}
			t[i] = nil
		}
		return kept, nil
	}
	w.mismatch(n, k)
	return false, nil
}

// leaf applies a primitive rule to a value or to each element of an array of primitives.
// Objects and nested arrays are never kept where a primitive is expected, nor arrays where a
// reference is.
func (w *walker) leaf(m map[string]any, n *node, k string, v any, r rule, after *fixups) (bool, error) {
	switch t := v.(type) {
	case map[string]any:
		w.mismatch(n, k)
		return false, nil
	case []any:
		if r.act == actAnonRef {
			w.mismatch(n, k)
			return false, nil
		}
		for _, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				w.mismatch(n, k)
				return false, nil
			}
		}
		kept := 0
		for i, e := range t {
			if e == nil {
				continue // a placeholder aligned with "_field"
			}
			nv, keep, err := w.scalar(m, n, k, e, r, after)
			if err != nil {
				return false, err
			}
			if keep {
				kept++
			}
			t[i] = nv
		}
		return kept > 0, nil
	}
	nv, keep, err := w.scalar(m, n, k, v, r, after)
	if keep && nv != v { // v is a primitive here, so comparing is safe; skipping saves a map write
		m[k] = nv
	}
	return keep, err
}

// scalar applies a primitive rule to one non-null primitive value. Strings are trimmed and
// empty strings dropped (as Cumulus does).
func (w *walker) scalar(m map[string]any, n *node, k string, v any, r rule, after *fixups) (any, bool, error) {
	s, isStr := v.(string)
	if isStr {
		if t := strings.TrimSpace(s); len(t) != len(s) {
			s, v = t, t // re-boxing allocates, so only when trimming changed something
		}
		if s == "" {
			return nil, false, nil
		}
	}
	switch r.act {
	case actKeep:
		if why := classRefuses(r.class, isNumber(v), isStr, s); why != "" {
			w.drop(n, k, why)
			return nil, false, nil
		}
		return v, true, nil
	case actCheckSystem:
		sys, _ := m["system"].(string)
		code, _ := m["code"].(string)
		if !systemAllows(siteSpecificSystem(w.s.rules, strings.TrimSpace(sys)), strings.TrimSpace(code), r.class == classCode) {
			after.markAbsent = true
			return nil, false, nil
		}
		return v, true, nil
	}
	if !isStr {
		w.mismatch(n, k)
		return nil, false, nil
	}
	switch r.act {
	case actAnonID:
		return w.s.cb.FakeID(w.resType, s), true, nil
	case actAnonRef:
		ref, ok := w.anonRef(m, s)
		if !ok {
			w.drop(n, k, whyRefMasked)
			after.masked = append(after.masked, maskedField{name: k, count: -1})
		}
		return ref, ok, nil
	case actYear:
		if !fhirDate(s) {
			w.drop(n, k, whyNotFHIRDate)
			return nil, false, nil
		}
		return s[:4], true, nil
	case actZip:
		z, where, ok := w.s.rules.zip(m, s)
		if !ok {
			w.drop(n, k, whyZip(where))
		}
		return z, ok, nil
	}
	w.mismatch(n, k) // unreachable with a compiled rule set
	return nil, false, nil
}

// isNumber reports whether a decoded value is a JSON number.
func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64:
		return true
	}
	return false
}

func (w *walker) drop(n *node, k, why string) {
	w.s.count(w.s.dropped, n.name+"."+k+": "+why)
}

func (w *walker) mismatch(n *node, k string) {
	w.s.count(w.s.mismatch, n.name+"."+k)
}

// apply adds the masks and markers collected while visiting an object's fields.
func (f *fixups) apply(m map[string]any) {
	for _, mf := range f.masked {
		if mf.count < 0 {
			m["_"+mf.name] = maskedElement()
			continue
		}
		list := make([]any, mf.count)
		for i := range list {
			list[i] = maskedElement()
		}
		m["_"+mf.name] = list
	}
	if f.markAbsent {
		addMaskedExtension(m)
	}
}

// maskedElement is a primitive's sibling element saying its value was masked.
func maskedElement() map[string]any {
	return map[string]any{"extension": []any{maskedExtension()}}
}

func maskedExtension() map[string]any {
	return map[string]any{"url": dataAbsentURL, "valueCode": "masked"}
}

// addMaskedExtension marks an element as having had values masked, unless it already says so.
func addMaskedExtension(m map[string]any) {
	exts, _ := m["extension"].([]any)
	for _, e := range exts {
		if em, ok := e.(map[string]any); ok && em["url"] == dataAbsentURL {
			return
		}
	}
	m["extension"] = append(exts, maskedExtension())
}
