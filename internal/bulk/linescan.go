package bulk

import (
	"bytes"
	"encoding/binary"
)

// scan runs the state machine over p.
func (c *lineChecker) scan(p []byte) (int, error) {
	begin := 0 // where the current line starts in p (0 when it started in an earlier buffer)
	i := 0
	for i < len(p) {
		if !c.started || c.closed {
			newline, err := c.outsideObject(p[i], c.offset+int64(i)+1)
			if err != nil {
				return i, err
			}
			if i++; newline {
				if err := c.checkLength(int64(i - begin)); err != nil {
					return i, err
				}
				if err := c.endLine(); err != nil {
					return i, err
				}
				c.lineLen, begin = 0, i
			}
			continue
		}
		if c.capture != 0 { // a key or resourceType value cut by the buffer's end: byte by byte
			if err := c.captureByte(p[i]); err != nil {
				return i, err
			}
			i++
			continue
		}
		// The fast scan: one table lookup per byte until a byte needs the logic below.
		tbl := &fastDeep
		if len(c.stack) == 1 {
			tbl = &fastTop
		}
		st := uint16(fastOutside)
		if c.escape {
			st = fastEscape
		} else if c.inString {
			st = fastString
		}
		for i < len(p) {
			if st == fastString {
				i = skipStringWords(p, i)
				if i == len(p) {
					break
				}
			}
			next := tbl[(st|uint16(p[i]))&1023]
			if next == fastStop {
				break
			}
			st = next
			i++
		}
		c.inString, c.escape = st != fastOutside, st == fastEscape
		if i == len(p) {
			break
		}
		if c.inString { // only a newline stops a string
			return i, c.fail("truncated JSON object (line ends inside a string)")
		}
		n, err := c.structural(p[i:])
		if err != nil {
			return i, err
		}
		i += n
	}
	c.offset += int64(len(p))
	c.lineLen += int64(len(p) - begin)
	if err := c.checkLength(0); err != nil {
		return len(p), err
	}
	return len(p), nil
}

// skipStringWords skips, eight bytes at a time, the words of p from i that hold no quote,
// backslash or newline, and returns where it stopped.
func skipStringWords(p []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:])
		q, bs, nl := w^(ones*'"'), w^(ones*'\\'), w^(ones*'\n')
		if ((q-ones)&^q|(bs-ones)&^bs|(nl-ones)&^nl)&highs != 0 {
			break
		}
	}
	return i
}

// rtKey is the top-level key the checker looks for, with its closing quote.
var rtKey = []byte(`resourceType"`)

// structural handles the byte p[0] outside strings in the line's object, one the fast scan
// stopped at, and returns how many bytes it consumed. A top-level key or resourceType value
// that lies whole in p is read at once; one cut by the buffer's end is captured byte by byte.
func (c *lineChecker) structural(p []byte) (int, error) {
	b := p[0]
	top := len(c.stack) == 1
	switch outsideClass[b] {
	case clsQuote: // only at the top level
		switch {
		case c.keyNext && len(p) > len(rtKey):
			if bytes.HasPrefix(p[1:], rtKey) {
				c.rtNext = true
				return 1 + len(rtKey), nil
			}
			c.rtNext = false
			c.inString = true // another key: the fast scan reads it
		case c.keyNext:
			c.inString = true
			c.startCapture()
		case c.rtNext:
			if k := bytes.IndexByte(p[1:min(len(p), maxCapture+2)], '"'); k > 0 && bytes.IndexAny(p[1:1+k], "\\\n") < 0 {
				c.rtLen = copy(c.rtype[:], p[1:1+k])
				c.rtNext = false
				return k + 2, nil
			}
			c.inString = true
			c.startCapture()
		default:
			c.inString = true
		}
	case clsOpen:
		c.stack = append(c.stack, b)
		c.rtNext = false
	case clsClose:
		if err := c.closeBracket(b); err != nil {
			return 0, err
		}
	case clsComma:
		if top {
			c.keyNext, c.rtNext = true, false
		}
	case clsColon:
		if top {
			c.keyNext = false
		}
	case clsNewline:
		return 0, c.fail("truncated JSON object (line ends inside it)")
	case clsBare:
		c.rtNext = false // only at the top level: the fast scan takes the others
	case clsSpace: // the fast scan takes them all
	default:
		return 0, c.fail("unexpected %q: not JSON", b)
	}
	return 1, nil
}

// captureByte reads one byte of a string being remembered.
func (c *lineChecker) captureByte(b byte) error {
	switch {
	case c.escape:
		c.escape = false
	case b == '\\':
		c.escape, c.capture = true, 0 // escaped keys and values are never "resourceType"
	case b == '"':
		c.inString = false
		c.endCapture()
	case b == '\n':
		return c.fail("truncated JSON object (line ends inside a string)")
	case c.bufLen < maxCapture:
		c.buf[c.bufLen] = b
		c.bufLen++
	default:
		c.capture = 0
	}
	return nil
}

// checkLength fails when the current line, with more bytes of this buffer, is over the limit.
func (c *lineChecker) checkLength(more int64) error {
	if c.lineLen+more > c.maxLine {
		return c.fail("longer than the %d-byte limit", c.maxLine)
	}
	return nil
}

// startCapture begins a string at the top level: remember it when it is a key or the value of
// resourceType.
func (c *lineChecker) startCapture() {
	c.bufLen, c.capture = 0, 0
	if c.keyNext {
		c.capture = 1
	} else if c.rtNext {
		c.capture = 2
	}
}

// endCapture ends a remembered string.
func (c *lineChecker) endCapture() {
	if c.capture == 1 {
		c.rtNext = string(c.buf[:c.bufLen]) == "resourceType"
	} else {
		c.rtype, c.rtLen, c.rtNext = c.buf, c.bufLen, false
	}
	c.capture = 0
}

// closeBracket closes the innermost bracket, which must be the same kind.
func (c *lineChecker) closeBracket(b byte) error {
	open := byte('{')
	if b == ']' {
		open = '['
	}
	if len(c.stack) == 0 || c.stack[len(c.stack)-1] != open {
		return c.fail("unbalanced %q", b)
	}
	c.stack = c.stack[:len(c.stack)-1]
	c.closed = len(c.stack) == 0
	return nil
}

// outsideObject consumes one byte before a line's object or after it; offset counts the bytes
// seen, this one included. newline says it was the newline that ends the line (see endLine).
func (c *lineChecker) outsideObject(b byte, offset int64) (newline bool, err error) {
	if c.closed {
		switch b {
		case '\n':
			return true, nil
		case ' ', '\t', '\r':
			return false, nil
		}
		return false, c.fail("unexpected %q after the JSON object", b)
	}
	switch {
	case b == '\n':
		return true, nil
	case b == ' ' || b == '\t' || b == '\r':
		return false, nil
	case offset <= 3 && (b == 0xEF || b == 0xBB || b == 0xBF) && c.line == 1:
		return false, nil // UTF-8 byte order mark
	case b == '{':
		c.started = true
		c.stack = append(c.stack[:0], '{')
		c.keyNext = true
		return false, nil
	}
	return false, c.fail("not a JSON object (starts with %q)", b)
}

// endLine ends a line: a blank one, or one whose object is complete and must be of the right type.
func (c *lineChecker) endLine() error {
	if !c.started {
		c.line++
		return nil
	}
	if c.rtLen <= 0 {
		return c.fail("JSON object has no resourceType")
	}
	if c.want != "" && string(c.rtype[:c.rtLen]) != c.want {
		return c.fail("resourceType %q where the manifest says %q", c.rtype[:c.rtLen], c.want)
	}
	c.resources++
	c.line++
	c.started, c.closed, c.rtLen, c.rtNext = false, false, 0, false
	return nil
}
