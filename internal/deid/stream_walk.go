package deid

import (
	"bytes"
	"slices"
)

// The walk below mirrors the map scrubber (oracle_walk_test.go) rule by rule, writing what Scrub
// would leave instead of editing a map. Every container is written tentatively and cut back if it
// ends up empty.

// objectFixups collects what Scrub's fixups.apply does after an object's fields are visited.
type objectFixups struct {
	haveSiblings bool   // siteSpecific and code below are read (check-system needs them)
	siteSpecific bool   // the sibling system is site-specific
	code         []byte // the sibling code, trimmed
	markAbsent   bool
	refMasked    bool // the field just written was a reference to mask
	extStart     int  // span of the written "extension" member, or -1
	extEnd       int
	ext          extListInfo
}

// object writes object obj scrubbed with n's rules and reports whether anything was kept; if
// not, nothing is written.
func (w *jsonWalker) object(obj uint32, n *node) (bool, error) {
	if n.systems != nil {
		if sys, _ := w.sibling(obj, "system"); !n.systems[string(sys)] {
			return false, nil
		}
	}
	base := len(w.members)
	masks := w.collect(obj, n, base)
	keep, err := w.writeObject(obj, n, base, masks)
	w.members = w.members[:base]
	return keep, err
}

// writeObject writes the members collect gathered from base on, then the fixups.
func (w *jsonWalker) writeObject(obj uint32, n *node, base int, masks bool) (bool, error) {
	start := len(w.out)
	w.out = append(w.out, '{')
	fx := objectFixups{extStart: -1}
	content := false
	for j := base; j < len(w.members); j++ {
		m := w.members[j]
		if w.tape[m.val].kind == tokNull || m.masked {
			continue
		}
		mark := len(w.out)
		w.separator()
		w.out = append(w.out, m.f.member...)
		keep, err := w.field(obj, n, m, &fx)
		if err != nil {
			return false, err
		}
		if fx.refMasked { // a reference that cannot be de-identified, with no "_field" to replace
			fx.refMasked, w.members[j].masked, masks = false, true, true
		}
		if !keep || m.over {
			w.out = w.out[:mark]
			continue
		}
		content = content || m.f.content
		if m.f.name == "extension" {
			fx.extStart, fx.extEnd, fx.ext = mark, len(w.out), w.extList
		}
		if obj == 0 && m.f.name == "id" && w.tape[m.val].kind == tokString {
			w.topID = append(w.topID[:0], w.scratch...) // scalar left the fake id there
		}
	}
	if masks || fx.markAbsent {
		mark := len(w.out)
		w.applyFixups(base, &fx)
		content = content || len(w.out) > mark
	}
	w.content = content
	if len(w.out) == start+1 {
		w.out = w.out[:start]
		return false, nil
	}
	w.out = append(w.out, '}')
	return true, nil
}

// collect gathers obj's rule-matched members onto w.members (keys are unique: the scanner
// refuses repeated ones). Members a mask marker will replace are flagged: masked fields, and
// references that cannot be de-identified when they have a "_field" sibling (other references
// are masked as they are written), and the "_field" siblings of both. It reports whether any
// member is masked.
func (w *jsonWalker) collect(obj uint32, n *node, base int) (masks bool) {
	end := w.tape[obj].next
	refs := false // a reference's "_field" sibling is here
	for k := obj + 1; k < end; k = w.tape[k+1].next {
		f := n.table.find(w.str(k))
		if f == nil {
			continue
		}
		m := member{f: f, val: k + 1}
		if w.tape[m.val].kind != tokNull {
			m.masked = f.rule.act == actMask
		}
		refs = refs || f.refSibling
		masks = masks || m.masked
		w.members = append(w.members, m)
	}
	if refs {
		masks = w.maskRefsWithSiblings(obj, n, base) || masks
	}
	if !masks {
		return false
	}
	for j := base; j < len(w.members); j++ {
		if !w.members[j].masked {
			continue
		}
		for i := base; i < len(w.members); i++ {
			if w.members[i].f.name == w.members[j].f.under {
				w.members[i].over = true
			}
		}
	}
	return true
}

// maskRefsWithSiblings flags the references that cannot be de-identified and have a "_field"
// sibling, which their mask marker must replace however the two are ordered.
func (w *jsonWalker) maskRefsWithSiblings(obj uint32, n *node, base int) (masks bool) {
	for j := base; j < len(w.members); j++ {
		m := &w.members[j]
		if m.f.rule.act != actAnonRef || w.tape[m.val].kind == tokNull {
			continue
		}
		for i := base; i < len(w.members); i++ {
			if w.members[i].f.name == m.f.under {
				m.masked = w.unsplittableRef(obj, n, m.f.name, m.val)
				masks = masks || m.masked
			}
		}
	}
	return masks
}

// unsplittableRef reports (and counts) a reference string that cannot be de-identified, which
// is masked instead.
func (w *jsonWalker) unsplittableRef(obj uint32, n *node, key string, v uint32) bool {
	if w.tape[v].kind != tokString {
		return false
	}
	ref := bytes.TrimSpace(w.str(v))
	if len(ref) == 0 {
		return false
	}
	if _, _, ok := splitRef(ref, func() []byte { t, _ := w.sibling(obj, "type"); return bytes.TrimSpace(t) }); ok {
		return false
	}
	w.drop(n, key, whyRefMasked)
	return true
}

// applyFixups writes the mask markers and, when a check-system field was removed, the
// data-absent-reason extension, as fixups.apply does.
func (w *jsonWalker) applyFixups(base int, fx *objectFixups) {
	for j := base; j < len(w.members); j++ {
		m := w.members[j]
		if !m.masked {
			continue
		}
		w.separator()
		w.out = append(w.out, '"')
		w.out = append(w.out, m.f.under...)
		w.out = append(w.out, '"', ':')
		if t := w.tape[m.val]; t.kind == tokArray {
			w.out = append(w.out, '[')
			for i, e := 0, m.val+1; e < t.next; i, e = i+1, w.tape[e].next {
				if i > 0 {
					w.out = append(w.out, ',')
				}
				w.out = append(w.out, maskedElementJSON...)
			}
			w.out = append(w.out, ']')
		} else {
			w.out = append(w.out, maskedElementJSON...)
		}
	}
	if !fx.markAbsent || (fx.extStart >= 0 && fx.ext.array && fx.ext.marked) {
		return
	}
	if fx.extStart >= 0 && fx.ext.array {
		// Append to the list already written: just before its closing bracket.
		w.out = slices.Insert(w.out, fx.extEnd-1, append([]byte{','}, maskedExtensionJSON...)...)
		return
	}
	if fx.extStart >= 0 {
		// A lone extension object is replaced by a list holding only the marker.
		w.cut(fx.extStart, fx.extEnd)
	}
	w.separator()
	w.out = append(w.out, `"extension":[`...)
	w.out = append(w.out, maskedExtensionJSON...)
	w.out = append(w.out, ']')
}

// cut removes a written member (with its leading comma, or the following one if it came first).
func (w *jsonWalker) cut(start, end int) {
	if w.out[start] != ',' && end < len(w.out) && w.out[end] == ',' {
		end++
	}
	w.out = slices.Delete(w.out, start, end)
}

const (
	maskedExtensionJSON = `{"url":"` + dataAbsentURL + `","valueCode":"masked"}`
	maskedElementJSON   = `{"extension":[` + maskedExtensionJSON + `]}`
)

// field writes member m's value under rule m.rule and reports whether it stays.
func (w *jsonWalker) field(obj uint32, n *node, m member, fx *objectFixups) (bool, error) {
	switch m.f.rule.act {
	case actNode:
		return w.nodes(n, m.f.name, m.val, m.f.rule.node)
	case actPrimitiveExt:
		return w.primitiveExt(n, m.f.name, m.val, m.f.rule.node)
	case actExtension, actNestedExtension:
		return w.extensions(n, m.f.name, m.val, m.f.rule.node)
	case actModifierExtension:
		return w.modifierExtensions(m.val)
	case actContained:
		return w.contained(n, m.f.name, m.val)
	}
	return w.leaf(obj, n, m.f.name, m.val, &m.f.rule, fx)
}

// nodes writes an object or an array of objects with child's rules.
func (w *jsonWalker) nodes(n *node, key string, v uint32, child *node) (bool, error) {
	switch t := w.tape[v]; t.kind {
	case tokObject:
		return w.object(v, child)
	case tokArray:
		return w.list(v, func(e uint32) (bool, error) {
			if w.tape[e].kind != tokObject {
				w.mismatch(n, key)
				return false, nil
			}
			return w.object(e, child)
		})
	}
	w.mismatch(n, key)
	return false, nil
}

// list writes array v, each element through elem; elements elem drops are left out, and so is
// the array if none stays. elem writes nothing when it drops an element.
func (w *jsonWalker) list(v uint32, elem func(e uint32) (bool, error)) (bool, error) {
	start := len(w.out)
	w.out = append(w.out, '[')
	for e := v + 1; e < w.tape[v].next; e = w.tape[e].next {
		mark := len(w.out)
		w.separator()
		keep, err := elem(e)
		if err != nil {
			return false, err
		}
		if !keep {
			w.out = w.out[:mark]
		}
	}
	if len(w.out) == start+1 {
		w.out = w.out[:start]
		return false, nil
	}
	w.out = append(w.out, ']')
	return true, nil
}

// primitiveExt writes a primitive's "_field" sibling: an Element, or an array of Elements
// aligned with the primitive array, dropped elements becoming null.
func (w *jsonWalker) primitiveExt(n *node, key string, v uint32, elem *node) (bool, error) {
	switch t := w.tape[v]; t.kind {
	case tokObject:
		return w.object(v, elem)
	case tokArray:
		return w.alignedList(v, func(e uint32) (bool, error) {
			if w.tape[e].kind != tokObject {
				return false, nil
			}
			return w.object(e, elem)
		})
	}
	w.mismatch(n, key)
	return false, nil
}

// alignedList writes array v with every element kept in place: those elem drops become null.
// The array stays only if elem kept at least one element.
func (w *jsonWalker) alignedList(v uint32, elem func(e uint32) (bool, error)) (bool, error) {
	start := len(w.out)
	w.out = append(w.out, '[')
	kept := false
	for e := v + 1; e < w.tape[v].next; e = w.tape[e].next {
		w.separator()
		keep, err := elem(e)
		if err != nil {
			return false, err
		}
		if keep {
			kept = true
		} else {
			w.out = append(w.out, "null"...)
		}
	}
	if !kept {
		w.out = w.out[:start]
		return false, nil
	}
	w.out = append(w.out, ']')
	return true, nil
}

// leaf applies a primitive rule to a value or to each element of an array of primitives (a
// reference is a single string: an array there is a mismatch).
func (w *jsonWalker) leaf(obj uint32, n *node, key string, v uint32, r *rule, fx *objectFixups) (bool, error) {
	switch t := w.tape[v]; t.kind {
	case tokObject:
		w.mismatch(n, key)
		return false, nil
	case tokArray:
		if r.act == actAnonRef {
			w.mismatch(n, key)
			return false, nil
		}
		for e := v + 1; e < t.next; e = w.tape[e].next {
			if k := w.tape[e].kind; k == tokObject || k == tokArray {
				w.mismatch(n, key)
				return false, nil
			}
		}
		return w.alignedList(v, func(e uint32) (bool, error) {
			if w.tape[e].kind == tokNull {
				return false, nil
			}
			return w.scalar(obj, n, key, e, r, fx)
		})
	}
	return w.scalar(obj, n, key, v, r, fx)
}
