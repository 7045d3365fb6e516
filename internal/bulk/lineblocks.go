package bulk

import "math/bits"

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

// skipNested checks the bytes of line from i, just after the bracket stack[1] that opened a
// value at the top level, and returns the index of the bracket that closes it. It reads 64
// bytes at a time, as simdjson does: classify64 flags quotes, backslashes, brackets, colons
// and commas; the escaped bytes and the running parity of the unescaped quotes give the bytes
// inside strings; then only brackets, and the rare bytes outside strings that are not colons
// or commas, are looked at one by one. ok is false for anything the state machine must judge:
// a bad byte, a mismatched bracket, nesting deeper than the stack, or a line that ends first.
func skipNested(line []byte, i int, stack *[maxFastDepth]byte) (end int, ok bool) {
	var m blockMasks
	var tail [64]byte
	var inString, escaped uint64 // inString: all bits set inside a string; escaped: 1 when the block's first byte is
	depth := 2
	for ; i < len(line); i += 64 {
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
		stop := 64
		for br := (m.opens | m.closes) & outside; br != 0; br &= br - 1 {
			k := bits.TrailingZeros64(br)
			b := line[i+k]
			if m.opens&(1<<k) != 0 {
				if depth == len(stack) {
					return -1, false
				}
				stack[depth] = b
				depth++
				continue
			}
			open := byte('{')
			if b == ']' {
				open = '['
			}
			if depth--; stack[depth] != open {
				return -1, false
			}
			if depth == 1 {
				stop = k
				break
			}
		}
		other := outside &^ (m.opens | m.closes | m.punct)
		if stop < 64 {
			other &= 1<<stop - 1
		}
		for ; other != 0; other &= other - 1 {
			if c := outsideClass[line[i+bits.TrailingZeros64(other)]]; c != clsSpace && c != clsBare {
				return -1, false
			}
		}
		if stop < 64 {
			return i + stop, true
		}
	}
	return -1, false
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
