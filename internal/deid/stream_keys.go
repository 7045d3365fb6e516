package deid

// uniqueKeys checks that no two of an object's keys (tape indices) are equal once unescaped:
// pairwise for the few keys most FHIR objects have, with a hash table beyond.
func (sc *scanner) uniqueKeys(keys []uint32) error {
	if len(keys) <= 8 {
		for i := 1; i < len(keys); i++ {
			for j := 0; j < i; j++ {
				if sc.sameKey(keys[i], keys[j]) {
					return sc.duplicate(keys[i])
				}
			}
		}
		return nil
	}
	size := 32
	for size < 2*len(keys) {
		size *= 2
	}
	if cap(sc.slots) < size {
		sc.slots = make([]uint32, size)
	}
	slots := sc.slots[:size]
	clear(slots)
	mask := uint32(size - 1)
	for i, k := range keys {
		h := sc.keyHash(k) & mask
		for slots[h] != 0 {
			if sc.sameKey(keys[slots[h]-1], k) {
				return sc.duplicate(k)
			}
			h = (h + 1) & mask
		}
		slots[h] = uint32(i + 1)
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

// keyHash is FNV-1a over a key's unescaped bytes.
func (sc *scanner) keyHash(k uint32) uint32 {
	t := &sc.tape[k]
	key := sc.data[t.start:t.end]
	if t.esc {
		sc.scratch = appendUnquoted(sc.scratch[:0], key)
		key = sc.scratch
	}
	h := uint32(2166136261)
	for _, c := range key {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}
