package deid

// manyKeys is the most keys of an object the scanner checks for repeats one by one, with one bit
// per key signature; a larger object is checked when it closes, with a hash table (uniqueKeys).
const manyKeys = 64

// signature picks one of 64 bits for a key from its first and last (unescaped) bytes and its
// length, which tell the keys of a FHIR object apart well enough that two keys rarely share one.
func signature(first, last byte, n uint32) uint32 {
	return (uint32(first) ^ uint32(last)<<1 ^ n<<2) & 63
}

// escapedSignature is the signature of a key written with escapes, from its unescaped bytes.
func (sc *scanner) escapedSignature(k uint32) uint32 {
	key := sc.unescapedKey(k)
	if len(key) == 0 {
		return 0
	}
	return signature(key[0], key[len(key)-1], uint32(len(key)))
}

// unescapedKey returns key k's bytes with escapes resolved (in sc.scratch, when it has any).
func (sc *scanner) unescapedKey(k uint32) []byte {
	t := &sc.tape[k]
	if !t.esc {
		return sc.data[t.start:t.end]
	}
	sc.scratch = appendUnquoted(sc.scratch[:0], sc.data[t.start:t.end])
	return sc.scratch
}

// repeats reports whether key k repeats an earlier key of object obj, whose values are complete
// on the tape. The scanner asks only when k's signature was seen before in the object, so most
// keys are told apart from all earlier ones in one step.
func (sc *scanner) repeats(obj, k uint32) bool {
	tk := &sc.tape[k]
	for e := obj + 1; e < k; e = sc.tape[e+1].next {
		if te := &sc.tape[e]; (te.esc || tk.esc || te.end-te.start == tk.end-tk.start) && sc.sameKey(e, k) {
			return true
		}
	}
	return false
}

// uniqueKeys checks that no two keys of object obj (with more than manyKeys keys) are equal.
func (sc *scanner) uniqueKeys(obj uint32) error {
	sc.keys = sc.keys[:0]
	for e := obj + 1; e < sc.tape[obj].next; e = sc.tape[e+1].next {
		sc.keys = append(sc.keys, e)
	}
	size := 2 * manyKeys
	for size < 2*len(sc.keys) {
		size *= 2
	}
	if cap(sc.slots) < size {
		sc.slots = make([]uint32, size)
	}
	slots := sc.slots[:size]
	clear(slots)
	mask := uint32(size - 1)
	for i, k := range sc.keys {
		p := fieldHash(sc.unescapedKey(k)) & mask
		for ; slots[p] != 0; p = (p + 1) & mask {
			if prev := sc.keys[slots[p]-1]; sc.sameKey(prev, k) {
				return sc.duplicate(k)
			}
		}
		slots[p] = uint32(i + 1)
	}
	return nil
}

func (sc *scanner) duplicate(key uint32) error {
	return &errDuplicateKey{off: int(sc.tape[key].start) - 1}
}

// sameKey reports whether two key strings are equal once unescaped.
func (sc *scanner) sameKey(a, b uint32) bool {
	ta, tb := &sc.tape[a], &sc.tape[b]
	ra, rb := sc.data[ta.start:ta.end], sc.data[tb.start:tb.end]
	if !ta.esc && !tb.esc {
		return string(ra) == string(rb)
	}
	sc.scratch = appendUnquoted(sc.scratch[:0], ra)
	n := len(sc.scratch)
	sc.scratch = appendUnquoted(sc.scratch, rb)
	return string(sc.scratch[:n]) == string(sc.scratch[n:])
}
