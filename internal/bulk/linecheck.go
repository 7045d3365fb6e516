package bulk

import (
	"bytes"
	"fmt"
)

// lineChecker is an io.Writer that checks, as bytes stream through it and without holding a line
// in memory, that every non-blank line is one JSON object whose top-level resourceType equals
// want (DL-10, DL-11, DL-13). It checks structure (brackets, strings, escapes, allowed bytes
// outside strings), which catches truncation, HTML pages and wrong types; the ETL parses fully.
// CRLF, blank lines, a missing final newline and a leading BOM are accepted (EC-17).
type lineChecker struct {
	want    string
	maxLine int64

	line      int64 // 1-based number of the line being read
	lineLen   int64
	resources int64
	offset    int64 // bytes seen, for the BOM check

	started  bool   // saw the opening '{' of this line
	closed   bool   // saw the matching closing '}'
	stack    []byte // open brackets
	inString bool
	escape   bool
	keyNext  bool // at depth 1, the next string is a key
	capture  int  // 0 none, 1 key, 2 resourceType value
	buf      []byte
	rtNext   bool // the key just read was resourceType
	rtype    string
}

func newLineChecker(want string, maxLine int64) *lineChecker {
	return &lineChecker{want: want, maxLine: maxLine, line: 1, buf: make([]byte, 0, 64)}
}

// Write checks p. Its error names the line number.
func (c *lineChecker) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		if c.inString && !c.escape && c.capture == 0 {
			i += c.skipString(p[i:])
			if i >= len(p) {
				break
			}
		}
		if err := c.step(p[i]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

// skipString consumes plain string bytes (up to a quote, backslash or newline) in bulk, which
// is where most of an ndjson line's bytes are.
func (c *lineChecker) skipString(p []byte) int {
	span := p
	for _, stop := range []byte{'"', '\\', '\n'} {
		if k := bytes.IndexByte(span, stop); k >= 0 {
			span = span[:k]
		}
	}
	n := int64(len(span))
	if c.lineLen+n > c.maxLine {
		n = c.maxLine - c.lineLen // let step report the limit
	}
	c.offset += n
	c.lineLen += n
	return int(n)
}

// checkError is a line that is not what the manifest promised.
type checkError struct {
	line int64
	msg  string
}

func (e *checkError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func (c *lineChecker) fail(format string, args ...any) error {
	return &checkError{line: c.line, msg: fmt.Sprintf(format, args...)}
}

func (c *lineChecker) step(b byte) error {
	c.offset++
	c.lineLen++
	if c.lineLen > c.maxLine {
		return c.fail("longer than the %d-byte limit", c.maxLine)
	}
	if c.inString {
		return c.stringByte(b)
	}
	if !c.started {
		return c.lineStart(b)
	}
	if c.closed {
		switch b {
		case '\n':
			return c.endLine()
		case ' ', '\t', '\r':
			return nil
		}
		return c.fail("unexpected %q after the JSON object", b)
	}
	switch b {
	case '"':
		c.inString = true
		if len(c.stack) == 1 {
			c.buf = c.buf[:0]
			c.capture = 0
			if c.keyNext {
				c.capture = 1
			} else if c.rtNext {
				c.capture = 2
			}
		}
	case '{', '[':
		c.stack = append(c.stack, b)
		c.rtNext = false
	case '}', ']':
		open := byte('{')
		if b == ']' {
			open = '['
		}
		if len(c.stack) == 0 || c.stack[len(c.stack)-1] != open {
			return c.fail("unbalanced %q", b)
		}
		c.stack = c.stack[:len(c.stack)-1]
		c.closed = len(c.stack) == 0
	case ',':
		if len(c.stack) == 1 {
			c.keyNext, c.rtNext = true, false
		}
	case ':':
		if len(c.stack) == 1 {
			c.keyNext = false
		}
	case '\n':
		return c.fail("truncated JSON object (line ends inside it)")
	default:
		if !jsonBareByte[b] {
			return c.fail("unexpected %q: not JSON", b)
		}
		if len(c.stack) == 1 {
			c.rtNext = false
		}
	}
	return nil
}

func (c *lineChecker) lineStart(b byte) error {
	switch {
	case b == '\n':
		c.line++
		c.lineLen = 0
		return nil
	case b == ' ' || b == '\t' || b == '\r':
		return nil
	case c.offset <= 3 && (b == 0xEF || b == 0xBB || b == 0xBF) && c.line == 1:
		return nil // UTF-8 byte order mark
	case b == '{':
		c.started = true
		c.stack = append(c.stack[:0], '{')
		c.keyNext = true
		return nil
	}
	return c.fail("not a JSON object (starts with %q)", b)
}

func (c *lineChecker) stringByte(b byte) error {
	switch {
	case c.escape:
		c.escape = false
	case b == '\\':
		c.escape = true
		c.capture = 0 // escaped keys/values are never "resourceType"
		return nil
	case b == '"':
		c.inString = false
		switch c.capture {
		case 1:
			c.rtNext = string(c.buf) == "resourceType"
		case 2:
			c.rtype, c.rtNext = string(c.buf), false
		}
		c.capture = 0
		return nil
	case b == '\n':
		return c.fail("truncated JSON object (line ends inside a string)")
	}
	if c.capture != 0 {
		if len(c.buf) < 64 {
			c.buf = append(c.buf, b)
		} else {
			c.capture = 0
		}
	}
	return nil
}

func (c *lineChecker) endLine() error {
	if c.rtype == "" {
		return c.fail("JSON object has no resourceType")
	}
	if c.want != "" && c.rtype != c.want {
		return c.fail("resourceType %q where the manifest says %q", c.rtype, c.want)
	}
	c.resources++
	c.line++
	c.lineLen = 0
	c.started, c.closed, c.rtype, c.rtNext = false, false, "", false
	return nil
}

// Close checks the end of the stream: a last line without a newline must be complete.
func (c *lineChecker) Close() error {
	if c.inString || (c.started && !c.closed) {
		return c.fail("truncated JSON object at end of file")
	}
	if c.started {
		return c.endLine()
	}
	return nil
}

// jsonBareByte lists the bytes allowed outside strings: whitespace, numbers and literals.
var jsonBareByte = func() (t [256]bool) {
	for _, b := range []byte(" \t\r0123456789+-.eEtrufalsn") {
		t[b] = true
	}
	return t
}()
