package deid

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The byte-level scrubber works in two passes over a line. The first (this file) validates the
// JSON and records every value in a flat tape; the second (stream_walk.go) walks the tape with
// the rules. The tape lets the walk skip a dropped subtree in one step and look ahead at sibling
// fields (a Coding's system, an extension's url) without scanning bytes again.

// Token kinds.
const (
	tokObject byte = iota + 1
	tokArray
	tokString
	tokNumber
	tokTrue
	tokFalse
	tokNull
)

// maxDepth is the deepest nesting accepted, as encoding/json and go-json accept.
const maxDepth = 10000

// token is one value on the tape. An object's members follow it as key, value, key, value...;
// an array's elements follow it; next is the index just past the value and all it contains.
type token struct {
	kind  byte
	esc   bool   // a string holding backslash escapes
	start uint32 // strings: just after the opening quote; others: the first byte
	end   uint32 // strings: the closing quote; others: just past the last byte
	next  uint32
}

// errSyntax says where a line stops being JSON. It names a character and an offset, never the
// surrounding text, which may be PHI.
type errSyntax struct {
	msg string
	off int
}

func (e *errSyntax) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

var errTooLarge = errors.New("line too large for the byte-level scrubber (4 GiB)")

// errDuplicateKey says where a key repeats one of its object, which FHIR JSON forbids: a reader
// keeping the first of them would see a value other than the one the rules checked.
type errDuplicateKey struct{ off int }

func (e *errDuplicateKey) Error() string {
	return fmt.Sprintf("repeated object key at offset %d", e.off)
}

// scanner validates a JSON text and fills the tape.
type scanner struct {
	data    []byte
	pos     int
	tape    []token
	keys    []uint32 // the keys (tape indices) of an object with many keys
	slots   []uint32 // hash table of those keys (index+1)
	scratch []byte   // unescaped keys being compared
}

// strSafe marks the bytes a string may hold without a closer look.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// needsLook reports whether any of 8 string bytes is a quote, a backslash or a control
// character (the classic SWAR tests for a zero byte and for a byte below n).
func needsLook(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((quote-ones)&^quote|(backslash-ones)&^backslash|(x-ones*0x20)&^x)&highs != 0
}

// scan validates data as exactly one JSON value (with optional surrounding whitespace) and
// records it in sc.tape.
func (sc *scanner) scan(data []byte) error {
	if uint64(len(data)) >= 1<<32 {
		return errTooLarge
	}
	sc.data, sc.pos, sc.tape = data, 0, sc.tape[:0]
	if err := sc.value(0); err != nil {
		return err
	}
	sc.skipSpace()
	if sc.pos < len(sc.data) {
		return sc.fail("after top-level value")
	}
	return nil
}

func (sc *scanner) fail(context string) error {
	if sc.pos >= len(sc.data) {
		return &errSyntax{msg: "unexpected end of JSON input", off: sc.pos}
	}
	return &errSyntax{msg: fmt.Sprintf("invalid character %q %s", sc.data[sc.pos], context), off: sc.pos}
}

func (sc *scanner) skipSpace() {
	for sc.pos < len(sc.data) {
		switch sc.data[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

func (sc *scanner) value(depth int) error {
	sc.skipSpace()
	if sc.pos >= len(sc.data) {
		return sc.fail("")
	}
	switch c := sc.data[sc.pos]; {
	case c == '{':
		return sc.container(depth+1, tokObject)
	case c == '[':
		return sc.container(depth+1, tokArray)
	case c == '"':
		return sc.str()
	case c == '-' || isDigit(c):
		return sc.number()
	case c == 't':
		return sc.literal("true", tokTrue)
	case c == 'f':
		return sc.literal("false", tokFalse)
	case c == 'n':
		return sc.literal("null", tokNull)
	}
	return sc.fail("looking for beginning of value")
}

// container scans an object or array; sc.pos is at its opening bracket.
func (sc *scanner) container(depth int, kind byte) error {
	if depth > maxDepth {
		return sc.fail("exceeded max depth")
	}
	idx := len(sc.tape)
	sc.tape = append(sc.tape, token{kind: kind, start: uint32(sc.pos)})
	closer := byte(']')
	if kind == tokObject {
		closer = '}'
	}
	var seen uint64 // one bit per key signature of this object (see repeats)
	keys := 0
	sc.pos++
	sc.skipSpace()
	if sc.pos < len(sc.data) && sc.data[sc.pos] == closer {
		sc.pos++
		sc.close(idx)
		return nil
	}
	for {
		if kind == tokObject {
			sc.skipSpace()
			if sc.pos >= len(sc.data) || sc.data[sc.pos] != '"' {
				return sc.fail("looking for beginning of object key string")
			}
			if err := sc.str(); err != nil {
				return err
			}
			if keys < manyKeys {
				k := uint32(len(sc.tape) - 1)
				var sig uint32
				if t := &sc.tape[k]; t.end > t.start && !t.esc {
					sig = signature(sc.data[t.start], sc.data[t.end-1], t.end-t.start)
				} else {
					sig = sc.escapedSignature(k)
				}
				if bit := uint64(1) << sig; seen&bit == 0 {
					seen |= bit
				} else if sc.repeats(uint32(idx), k) {
					return sc.duplicate(k)
				}
			}
			keys++
			sc.skipSpace()
			if sc.pos >= len(sc.data) || sc.data[sc.pos] != ':' {
				return sc.fail("after object key")
			}
			sc.pos++
		}
		if err := sc.value(depth); err != nil {
			return err
		}
		sc.skipSpace()
		if sc.pos >= len(sc.data) {
			return sc.fail("")
		}
		switch sc.data[sc.pos] {
		case ',':
			sc.pos++
			continue
		case closer:
			sc.pos++
			sc.close(idx)
			if keys > manyKeys {
				return sc.uniqueKeys(uint32(idx))
			}
			return nil
		}
		return sc.fail("after a member or element")
	}
}

func (sc *scanner) close(idx int) {
	t := &sc.tape[idx]
	t.end, t.next = uint32(sc.pos), uint32(len(sc.tape))
}

// str scans a string; sc.pos is at its opening quote.
func (sc *scanner) str() error {
	d := sc.data
	start := sc.pos + 1
	i, esc := start, false
	for {
		for i+8 <= len(d) && !needsLook(binary.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		for i < len(d) && strSafe[d[i]] {
			i++
		}
		if i >= len(d) {
			sc.pos = i
			return sc.fail("")
		}
		switch c := d[i]; {
		case c == '"':
			sc.tape = append(sc.tape, token{kind: tokString, esc: esc, start: uint32(start), end: uint32(i), next: uint32(len(sc.tape) + 1)})
			sc.pos = i + 1
			return nil
		case c == '\\':
			esc = true
			n, err := sc.escape(i)
			if err != nil {
				return err
			}
			i += n
		default:
			sc.pos = i
			return sc.fail("in string literal")
		}
	}
}

// escape checks the escape sequence at d[i] (a backslash) and returns its length.
func (sc *scanner) escape(i int) (int, error) {
	d := sc.data
	if i+1 >= len(d) {
		sc.pos = len(d)
		return 0, sc.fail("")
	}
	switch d[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		for j := i + 2; j < i+6; j++ {
			if j >= len(d) {
				sc.pos = j
				return 0, sc.fail("")
			}
			if hexValue(d[j]) < 0 {
				sc.pos = j
				return 0, sc.fail(`in \u hexadecimal character escape`)
			}
		}
		return 6, nil
	}
	sc.pos = i + 1
	return 0, sc.fail("in string escape code")
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; sc.pos is at its first byte.
func (sc *scanner) number() error {
	d := sc.data
	start := sc.pos
	i := start
	if d[i] == '-' {
		i++
	}
	digits := func(context string) error {
		if i >= len(d) || !isDigit(d[i]) {
			sc.pos = i
			return sc.fail(context)
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		return nil
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if err := digits("in numeric literal"); err != nil {
		return err
	}
	if i < len(d) && d[i] == '.' {
		i++
		if err := digits("after decimal point in numeric literal"); err != nil {
			return err
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if err := digits("in exponent of numeric literal"); err != nil {
			return err
		}
	}
	sc.tape = append(sc.tape, token{kind: tokNumber, start: uint32(start), end: uint32(i), next: uint32(len(sc.tape) + 1)})
	sc.pos = i
	return nil
}

func (sc *scanner) literal(word string, kind byte) error {
	start := sc.pos
	for k := 0; k < len(word); k++ {
		if sc.pos >= len(sc.data) || sc.data[sc.pos] != word[k] {
			return sc.fail("in literal " + word)
		}
		sc.pos++
	}
	sc.tape = append(sc.tape, token{kind: kind, start: uint32(start), end: uint32(sc.pos), next: uint32(len(sc.tape) + 1)})
	return nil
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
