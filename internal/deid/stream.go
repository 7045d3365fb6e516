package deid

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// ErrBadInput marks a line that is not a usable FHIR resource: not UTF-8, not a JSON object, not
// valid JSON, or without the expected resourceType or an id. The error text never repeats
// values from the line.
var ErrBadInput = errors.New("bad input row")

// jsonWalker is the state of one ScrubJSON call; the pool keeps its buffers between calls.
type jsonWalker struct {
	s       *Scrubber
	resType string // the type anon-id hashes under ("" inside contained resources)
	line    []byte
	tape    []token
	out     []byte
	members []member // the rule-matched members of the objects being walked, as a stack
	strs    []byte   // decoded strings that held escapes
	scratch []byte   // a fake id being built
	sc      scanner

	content bool   // the object written last holds a member other than url and _url
	topID   []byte // the de-identified resource id, once written (empty if dropped)
	fakes   fakeRefCache
	extList extListInfo
}

// extListInfo describes the extension list an object's walk wrote last, for check-system's
// data-absent marker.
type extListInfo struct {
	array  bool // written as an array (a lone extension object stays an object, as in Scrub)
	marked bool // holds a data-absent-reason extension
}

// member is one rule-matched field of an object.
type member struct {
	f      *fieldEntry
	val    uint32 // tape index of the value
	masked bool   // replaced by a mask marker (a masked field, a reference that cannot be de-identified)
	over   bool   // a "_field" sibling a mask marker replaces: walked for its side effects only
}

var walkers = sync.Pool{New: func() any { return new(jsonWalker) }}

// maxPooledTape caps the tape a pooled walker keeps, so one huge line does not pin its memory.
const maxPooledTape = 1 << 20

// ScrubJSON de-identifies one ndjson line holding a resource of type resourceType and appends
// the result to dst as compact JSON, without decoding the line into maps. The result decodes to
// exactly what the reference map scrubber (Scrub, in the tests) leaves of the decoded line;
// fields keep their input order and numbers keep their digits. It also returns the
// de-identified id ("" if the id was blank).
//
// Lines that are not UTF-8, not a single JSON object, repeat a key in any object (FHIR JSON
// forbids it, and a reader keeping the first value would see one the rules did not check), lack
// a non-empty string id, or whose resourceType is missing or differs from resourceType (when
// that is not empty) return an error wrapping ErrBadInput. A resource type without rules returns
// ErrUnsupportedType, and a resource with an unknown modifierExtension the outcome
// SkippedModifierExtension; on either, and on any error, out is dst unchanged. ScrubJSON is safe
// for concurrent use.
func (s *Scrubber) ScrubJSON(dst, line []byte, resourceType string) (out []byte, id string, outcome Outcome, err error) {
	if !utf8.Valid(line) {
		return dst, "", Kept, fmt.Errorf("%w: not valid UTF-8", ErrBadInput)
	}
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 || line[0] != '{' {
		return dst, "", Kept, fmt.Errorf("%w: not a JSON object", ErrBadInput)
	}
	w := walkers.Get().(*jsonWalker)
	defer w.release()
	if err := w.sc.scan(line); err != nil {
		var dup *errDuplicateKey
		if errors.As(err, &dup) {
			return dst, "", Kept, fmt.Errorf("%w: a JSON object repeats a key (FHIR forbids it) at offset %d", ErrBadInput, dup.off)
		}
		return dst, "", Kept, fmt.Errorf("%w: not valid JSON: %w", ErrBadInput, err)
	}
	w.s, w.line, w.tape, w.out = s, line, w.sc.tape, dst
	rt, _ := w.sibling(0, "resourceType")
	switch {
	case len(rt) == 0:
		return dst, "", Kept, fmt.Errorf("%w: no resourceType", ErrBadInput)
	case resourceType != "" && string(rt) != resourceType:
		return dst, "", Kept, fmt.Errorf("%w: resourceType %q in a %s file", ErrBadInput, rt, resourceType)
	}
	if realID, _ := w.sibling(0, "id"); len(realID) == 0 {
		return dst, "", Kept, fmt.Errorf("%w: no id", ErrBadInput)
	}
	n := s.rules.resources[string(rt)]
	if n == nil {
		return dst, "", Kept, fmt.Errorf("deid: %w %q", ErrUnsupportedType, rt)
	}
	w.resType = string(rt)
	keep, err := w.object(0, n)
	if err != nil {
		var skip *skipError
		if errors.As(err, &skip) {
			s.countURL(s.skippedMod, skip.url)
			return dst, "", SkippedModifierExtension, nil
		}
		return dst, "", Kept, err
	}
	if !keep {
		w.out = append(w.out, '{', '}')
	}
	return w.out, string(w.topID), Kept, nil
}

// release returns w to the pool without holding on to the caller's buffers.
func (w *jsonWalker) release() {
	if cap(w.sc.tape) > maxPooledTape {
		w.sc.tape = nil
	}
	if cap(w.strs) > maxPooledTape {
		w.strs = nil
	}
	if cap(w.sc.keys) > maxPooledTape || cap(w.sc.slots) > maxPooledTape || cap(w.sc.scratch) > maxPooledTape {
		w.sc.keys, w.sc.slots, w.sc.scratch = nil, nil, nil
	}
	w.s, w.line, w.tape, w.out = nil, nil, nil, nil
	w.topID = w.topID[:0]
	w.sc.data = nil
	w.members, w.strs = w.members[:0], w.strs[:0]
	walkers.Put(w)
}

// str returns the value of the string token i; escapes are resolved into w.strs.
func (w *jsonWalker) str(i uint32) []byte {
	t := &w.tape[i]
	raw := w.line[t.start:t.end]
	if !t.esc {
		return raw
	}
	start := len(w.strs)
	w.strs = appendUnquoted(w.strs, raw)
	return w.strs[start:len(w.strs):len(w.strs)]
}

// sibling returns the value of object obj's field name when it is a string (keys are unique:
// the scanner refuses repeated ones); ok is false when there is no such string.
func (w *jsonWalker) sibling(obj uint32, name string) (val []byte, ok bool) {
	end := w.tape[obj].next
	for k := obj + 1; k < end; k = w.tape[k+1].next {
		if string(w.str(k)) == name {
			if w.tape[k+1].kind != tokString {
				return nil, false
			}
			return w.str(k + 1), true
		}
	}
	return nil, false
}

// emitScalar writes a kept primitive: trimmed is a string's trimmed value, written as the
// input spelled it when nothing was trimmed or unescaped.
func (w *jsonWalker) emitScalar(v uint32, trimmed []byte) {
	t := &w.tape[v]
	switch {
	case t.kind != tokString:
		w.out = append(w.out, w.line[t.start:t.end]...)
	case !t.esc && len(trimmed) == int(t.end-t.start):
		w.out = append(w.out, w.line[t.start-1:t.end+1]...)
	default:
		w.out = appendQuoted(w.out, trimmed)
	}
}

// separator writes the comma before a member or element unless it is the first.
func (w *jsonWalker) separator() {
	if c := w.out[len(w.out)-1]; c != '{' && c != '[' {
		w.out = append(w.out, ',')
	}
}

func (w *jsonWalker) mismatch(n *node, key string) {
	w.s.count(w.s.mismatch, n.name+"."+key)
}

func (w *jsonWalker) drop(n *node, key, why string) {
	w.s.count(w.s.dropped, n.name+"."+key+": "+why)
}
