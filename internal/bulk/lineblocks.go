package bulk

import (
	"bytes"
	"math/bits"
)

// blockMasks flags bytes of a 64-byte block by class, byte k in bit k.
type blockMasks struct {
	quotes, backslashes uint64
	opens, closes       uint64 // { [ and } ]
	punct               uint64 // : ,
}

// classify64Generic sets m to the classes of the 64 bytes p starts with, one byte at a time:
// what classify64 does where no vector kernel exists, and what tests hold the kernel to.
func classify64Generic(p []byte, m *blockMasks) {
	*m = blockMasks{}
	for k, b := range p[:64] {
		bit := uint64(1) << k
		switch b {
		case '"':
			m.quotes |= bit
		case '\\':
			m.backslashes |= bit
		case '{', '[':
			m.opens |= bit
		case '}', ']':
			m.closes |= bit
		case ':', ',':
			m.punct |= bit
		}
	}
}

// maxFastDepth is the deepest nesting wholeLine follows; deeper lines go to the state machine.
const maxFastDepth = 64

// wholeLine checks one complete line (without its newline) that starts at a line start, the
// fast way, and counts it when it is an object of the right type. It accepts only lines the
// state machine accepts, with the same resourceType, and only those that start with '{'.
//
// It reads the line 64 bytes at a time, as simdjson does: classify64 flags quotes, backslashes,
// brackets, colons and commas; the escaped bytes and the running parity of the unescaped
// quotes give the bytes inside strings. Only brackets, the rare bytes outside strings that are
// not colons or commas, and the opening quotes at the top level are then looked at one by one:
// a top-level string spelled resourceType, after the opening brace or a comma, is the key whose
// value names the type (topResourceType). Anything else (an error to report, a blank line, a
// BOM, nesting deeper than maxFastDepth, a resourceType key or value of an unusual shape)
// returns false, for the state machine to judge with its own messages.
func (c *lineChecker) wholeLine(line []byte) bool {
	if len(line) == 0 || line[0] != '{' || int64(len(line))+1 > c.maxLine {
		return false
	}
	var stack [maxFastDepth]byte
	depth := 0
	var rtype []byte
	var m blockMasks
	var tail [64]byte
	var inString, escaped uint64 // inString: all bits set inside a string; escaped: 1 when the block's first byte is
	for i := 0; i < len(line); i += 64 {
		valid := ^uint64(0)
		if i+64 <= len(line) {
			classify64(line[i:], &m)
		} else {
			n := copy(tail[:], line[i:])
			clear(tail[n:])
			classify64(tail[:], &m)
			valid = 1<<n - 1
		}
		quotes := m.quotes
		if m.backslashes|escaped != 0 {
			var skip uint64
			skip, escaped = escapedBits(m.backslashes, escaped)
			quotes &^= skip
		}
		inside := prefixXor(quotes) ^ inString // opening quotes and the bytes after them
		inString = uint64(int64(inside) >> 63)
		outside := ^(inside | quotes) & valid
		var top uint64 // the bytes of the block at the top level
		start, stop := 0, 64
		for br := (m.opens | m.closes) & outside; br != 0; br &= br - 1 {
			k := bits.TrailingZeros64(br)
			b := line[i+k]
			if m.opens&(1<<k) != 0 {
				if depth == len(stack) {
					return false
				}
				if depth == 1 {
					top |= bitsBetween(start, k)
				}
				stack[depth] = b
				depth++
				continue
			}
			open := byte('{')
			if b == ']' {
				open = '['
			}
			if depth--; depth < 0 || stack[depth] != open {
				return false
			}
			if depth == 1 {
				start = k + 1
			} else if depth == 0 {
				top |= bitsBetween(start, k)
				stop = k
				break
			}
		}
		if stop == 64 && depth == 1 {
			top |= bitsBetween(start, 64)
		}
		upTo := bitsBetween(0, stop)
		for other := outside &^ (m.opens | m.closes | m.punct) & upTo; other != 0; other &= other - 1 {
			if c := outsideClass[line[i+bits.TrailingZeros64(other)]]; c != clsSpace && c != clsBare {
				return false
			}
		}
		for q := quotes & inside & top & upTo; q != 0; q &= q - 1 {
			p := i + bits.TrailingZeros64(q)
			if p+14 > len(line) || line[p+1] != 'r' || line[p+13] != '"' { // surely not resourceType
				continue
			}
			switch v, kind := topResourceType(line, p); kind {
			case topKey:
				rtype = v
			case topUnsure:
				return false
			}
		}
		if stop < 64 {
			return c.lineEnd(line[i+stop+1:], rtype)
		}
	}
	return false
}

// bitsBetween returns the bits from, inclusive, to to, exclusive (0 <= from <= to <= 64).
func bitsBetween(from, to int) uint64 {
	return ^uint64(0) >> (64 - to) &^ (1<<from - 1)
}

// What topResourceType found.
const (
	topOther  = iota // a string that is no resourceType key
	topKey           // a resourceType key with a plain string value
	topUnsure        // a resourceType key, or a string spelled so, that the state machine must judge
)

// topResourceType looks at the top-level string whose opening quote is at p. A string spelled
// resourceType after the opening brace or a comma is the key, and its value, a plain string
// of at most maxCapture bytes, is returned; after a colon it is a value like any other.
func topResourceType(line []byte, p int) ([]byte, int) {
	if p+14 > len(line) || string(line[p+1:p+14]) != `resourceType"` {
		return nil, topOther
	}
	j := p - 1
	for j > 0 && outsideClass[line[j]] == clsSpace {
		j--
	}
	switch {
	case line[j] == ':':
		return nil, topOther
	case j > 0 && line[j] != ',':
		return nil, topUnsure
	}
	k := skipBlanks(line, p+14)
	if k >= len(line) || line[k] != ':' {
		return nil, topUnsure
	}
	if k = skipBlanks(line, k+1); k >= len(line) || line[k] != '"' {
		return nil, topUnsure
	}
	value := line[k+1 : min(len(line), k+2+maxCapture)]
	end := bytes.IndexByte(value, '"')
	if end < 0 || bytes.IndexByte(value[:end], '\\') >= 0 {
		return nil, topUnsure
	}
	return value[:end], topKey
}

// skipBlanks returns the index of the first byte from k on that is not a space, tab or CR.
func skipBlanks(line []byte, k int) int {
	for k < len(line) && outsideClass[line[k]] == clsSpace {
		k++
	}
	return k
}

// escapedBits flags the bytes of a block that a backslash escapes, given the block's backslash
// flags and whether its first byte is escaped by the block before; next says the same of the
// block after.
func escapedBits(backslashes, first uint64) (escaped, next uint64) {
	if first != 0 {
		escaped, backslashes = 1, backslashes&^1
	}
	for backslashes != 0 {
		k := bits.TrailingZeros64(backslashes)
		if k == 63 {
			next = 1
		} else {
			escaped |= 1 << (k + 1)
		}
		backslashes &^= 3 << k // this backslash and the byte it escapes
	}
	return escaped, next
}

// prefixXor sets each bit to the parity of the bits up to it: inside a string, given the quotes.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}
