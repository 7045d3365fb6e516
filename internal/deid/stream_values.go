package deid

import (
	"bytes"
	"hash/maphash"
)

// scalar writes one non-null primitive under a primitive rule and reports whether it stays;
// it mirrors walker.scalar. obj is the object holding the field, for sibling lookups.
func (w *jsonWalker) scalar(obj uint32, n *node, key string, v uint32, r *rule, fx *objectFixups) (bool, error) {
	isStr := w.tape[v].kind == tokString
	var s []byte
	if isStr {
		if s = bytes.TrimSpace(w.str(v)); len(s) == 0 {
			return false, nil
		}
	}
	switch r.act {
	case actKeep:
		if r.class == classDate || r.class == classNumber {
			if why := classRefuses(r.class, w.tape[v].kind == tokNumber, isStr, s); why != "" {
				w.drop(n, key, why)
				return false, nil
			}
		}
		w.emitScalar(v, s)
		return true, nil
	case actCheckSystem:
		if !fx.haveSiblings {
			sys, _ := w.sibling(obj, "system")
			code, _ := w.sibling(obj, "code")
			fx.siteSpecific = siteSpecificSystem(w.s.rules, bytes.TrimSpace(sys))
			fx.code, fx.haveSiblings = bytes.TrimSpace(code), true
		}
		if !systemAllows(fx.siteSpecific, fx.code, r.class == classCode) {
			fx.markAbsent = true
			return false, nil
		}
		w.emitScalar(v, s)
		return true, nil
	}
	if !isStr {
		w.mismatch(n, key)
		return false, nil
	}
	switch r.act {
	case actAnonID:
		w.scratch = appendFakeRef(w.s.cb, w.scratch[:0], w.resType, s)
	case actAnonRef:
		typ, id, ok := splitRef(s, func() []byte { t, _ := w.sibling(obj, "type"); return bytes.TrimSpace(t) })
		if !ok {
			w.drop(n, key, whyRefMasked)
			fx.refMasked = true
			return false, nil
		}
		w.scratch = w.fakeRef(typ, id)
	case actYear:
		if !fhirDate(s) {
			w.drop(n, key, whyNotFHIRDate)
			return false, nil
		}
		w.scratch = append(w.scratch[:0], s[:4]...)
	case actZip:
		country, _ := w.sibling(obj, "country")
		state, _ := w.sibling(obj, "state")
		where := addressCountry(w.s.rules, bytes.TrimSpace(country), bytes.TrimSpace(state))
		var ok bool
		if w.scratch, ok = appendZip(w.s.rules, w.scratch[:0], s, where); !ok {
			w.drop(n, key, whyZip(where))
			return false, nil
		}
	default:
		w.mismatch(n, key) // unreachable with a compiled rule set
		return false, nil
	}
	w.out = appendQuoted(w.out, w.scratch)
	return true, nil
}

// asList runs elem on each element of array v, or on v itself when it is a lone object (which
// Scrub keeps as an object); ok is false for any other value.
func (w *jsonWalker) asList(v uint32, elem func(e uint32) (bool, error)) (keep, array, ok bool, err error) {
	switch w.tape[v].kind {
	case tokArray:
		keep, err = w.list(v, elem)
		return keep, true, true, err
	case tokObject:
		keep, err = elem(v)
		return keep, false, true, err
	}
	return false, false, false, nil
}

// extensions filters an extension list like walker.extensions: an entry whose URL has a
// definition is scrubbed with it, any other is dropped whole and its URL counted (unless
// expected), and entries without a url are dropped. parent is the definition of the extension
// the list belongs to (nil for an element's own extensions).
func (w *jsonWalker) extensions(n *node, key string, v uint32, parent *node) (bool, error) {
	rs := w.s.rules
	marked := false
	keep, array, ok, err := w.asList(v, func(e uint32) (bool, error) {
		var url []byte
		if w.tape[e].kind == tokObject {
			url, _ = w.sibling(e, "url")
		}
		if len(url) == 0 {
			w.mismatch(n, key)
			return false, nil
		}
		def := extensionDefinition(rs, url, parent)
		if def == nil {
			if !rs.extExpected[string(url)] {
				w.s.countURL(w.s.unknownExt, unknownName(url, parent))
			}
			return false, nil
		}
		if keep, err := w.object(e, def); !keep || !w.content || err != nil {
			return false, err // an extension left with only its url says nothing
		}
		marked = marked || string(url) == dataAbsentURL
		return true, nil
	})
	if !ok {
		w.mismatch(n, key)
	}
	w.extList = extListInfo{array: array, marked: marked}
	return keep, err
}

// modifierExtensions scrubs a modifierExtension list; one unknown URL skips the resource.
func (w *jsonWalker) modifierExtensions(v uint32) (bool, error) {
	rs := w.s.rules
	keep, _, ok, err := w.asList(v, func(e uint32) (bool, error) {
		var url []byte
		if w.tape[e].kind == tokObject {
			url, _ = w.sibling(e, "url")
		}
		def := rs.modifiers[string(url)]
		if def == nil {
			u := string(url)
			if u == "" {
				u = "(modifierExtension without url)"
			}
			return false, &skipError{url: u}
		}
		return w.object(e, def)
	})
	if !ok {
		return false, &skipError{url: "(malformed modifierExtension)"}
	}
	return keep, err
}

// contained scrubs contained resources with their own type's rules; their ids hash with no
// resource type, as walker.contained does.
func (w *jsonWalker) contained(n *node, key string, v uint32) (bool, error) {
	keep, _, ok, err := w.asList(v, func(e uint32) (bool, error) {
		var rules *node
		if w.tape[e].kind == tokObject {
			rt, _ := w.sibling(e, "resourceType")
			rules = w.s.rules.resources[string(rt)]
		}
		if rules == nil {
			w.mismatch(n, key)
			return false, nil
		}
		saved := w.resType
		w.resType = ""
		keep, err := w.object(e, rules)
		w.resType = saved
		return keep, err
	})
	if !ok {
		w.mismatch(n, key)
	}
	return keep, err
}

// The fake-reference cache is direct-mapped: fakeRefSlots slots of fakeRefSlotBytes each, so it
// never allocates after the first use and its memory is fixed.
const (
	fakeRefSlots     = 1024
	fakeRefSlotBytes = 252
)

// fakeRefCache remembers the fake references a walker made lately: references to the same
// patient or encounter repeat across the resources of a file, and each fake id costs an HMAC.
// It belongs to one codebook.
type fakeRefCache struct {
	cb    *Codebook
	seed  maphash.Seed
	slots []fakeRefSlot
	key   []byte
}

// fakeRefSlot holds a reference ("Type/id" or "#id") in buf[:k] and its fake in buf[k:n].
type fakeRefSlot struct {
	k, n uint16
	buf  [fakeRefSlotBytes]byte
}

// fakeRef returns, in w.scratch, "#" + the fake id for a contained reference (typ empty), or
// typ + "/" + the fake id.
func (w *jsonWalker) fakeRef(typ, id []byte) []byte {
	c := &w.fakes
	if c.cb != w.s.cb {
		c.cb, c.seed, c.slots = w.s.cb, maphash.MakeSeed(), make([]fakeRefSlot, fakeRefSlots)
	}
	if len(typ) == 0 {
		c.key = append(c.key[:0], '#')
	} else {
		c.key = append(append(c.key[:0], typ...), '/')
	}
	prefix := len(c.key)
	c.key = append(c.key, id...)
	slot := &c.slots[maphash.Bytes(c.seed, c.key)%fakeRefSlots]
	if slot.n > 0 && string(slot.buf[:slot.k]) == string(c.key) {
		return append(w.scratch[:0], slot.buf[slot.k:slot.n]...)
	}
	out := appendFakeRef(w.s.cb, append(w.scratch[:0], c.key[:prefix]...), typ, id)
	if len(c.key)+len(out) <= fakeRefSlotBytes {
		slot.k = uint16(copy(slot.buf[:], c.key))
		slot.n = slot.k + uint16(copy(slot.buf[slot.k:], out))
	}
	return out
}
