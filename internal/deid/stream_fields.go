package deid

// fieldTable is a node's fields in an open-addressing table that looks up a key's bytes
// without hashing all of them, for the byte-level scrubber. It is built once with the rules.
type fieldTable struct {
	mask    uint32
	entries []fieldEntry // a power of two, at most half full; empty slots have rule.act == 0
}

// fieldEntry is one field of a node.
type fieldEntry struct {
	name       string
	under      string // "_" + name: the primitive sibling a mask replaces
	member     string // `"name":`, as written before the value
	rule       rule
	content    bool // not "url" or "_url": an extension holding this says something
	refSibling bool // the "_field" sibling of a reference (anon-ref) field
}

func newFieldTable(fields map[string]rule) fieldTable {
	size := 4
	for size < 2*len(fields) {
		size *= 2
	}
	t := fieldTable{mask: uint32(size - 1), entries: make([]fieldEntry, size)}
	for name, r := range fields {
		i := fieldHash(name) & t.mask
		for t.entries[i].rule.act != 0 {
			i = (i + 1) & t.mask
		}
		t.entries[i] = fieldEntry{name: name, under: "_" + name, member: `"` + name + `":`, rule: r,
			content:    name != "url" && name != "_url",
			refSibling: len(name) > 1 && name[0] == '_' && fields[name[1:]].act == actAnonRef}
	}
	return t
}

// find returns the entry for key, or nil.
func (t *fieldTable) find(key []byte) *fieldEntry {
	for i := fieldHash(key) & t.mask; ; i = (i + 1) & t.mask {
		e := &t.entries[i]
		if e.rule.act == 0 {
			return nil
		}
		if e.name == string(key) {
			return e
		}
	}
}

// fieldHash mixes a key's length with its first, middle and last bytes, which tell FHIR
// field names apart well enough for a half-empty table.
func fieldHash[T text](k T) uint32 {
	n := len(k)
	if n == 0 {
		return 0
	}
	h := uint32(n)*0x9E3779B1 ^ uint32(k[0])<<16 ^ uint32(k[n/2])<<8 ^ uint32(k[n-1])
	return (h * 0x85EBCA6B) >> 7
}
