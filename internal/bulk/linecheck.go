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
//
// A line lying whole in a buffer takes wholeLine (lineblocks.go), which reads it 64 bytes at a
// time and looks one by one only at brackets, rare bytes and top-level strings. Lines cut by a
// buffer's end, and lines wholeLine declines, go through a table-driven state machine that
// keeps its state across buffers (scan, linescan.go) and gives every error its message
// (issue 12).
type lineChecker struct {
	want    string
	maxLine int64

	line      int64 // 1-based number of the line being read
	lineLen   int64 // bytes of the current line before the current buffer
	resources int64
	offset    int64 // bytes seen, for the BOM check

	started  bool   // saw the opening '{' of this line
	closed   bool   // saw the matching closing '}'
	stack    []byte // open brackets
	inString bool
	escape   bool
	keyNext  bool // at depth 1, the next string is a key
	capture  int  // 0 none, 1 key, 2 resourceType value
	buf      [maxCapture]byte
	bufLen   int
	rtNext   bool // the key just read was resourceType
	rtype    [maxCapture]byte
	rtLen    int // 0: no resourceType seen on this line
}

// maxCapture bounds the keys and values the checker remembers: longer ones are not resourceType.
const maxCapture = 64

func newLineChecker(want string, maxLine int64) *lineChecker {
	return &lineChecker{want: want, maxLine: maxLine, line: 1}
}

// Byte classes outside strings.
const (
	clsInvalid = iota // anything not below
	clsSpace          // space, tab, CR: nothing changes, even at the top level
	clsBare           // digits, signs and the letters of true, false and null
	clsQuote          // "
	clsOpen           // { [
	clsClose          // } ]
	clsComma          // ,
	clsColon          // :
	clsNewline        // \n
)

var (
	// outsideClass classifies the bytes outside strings.
	outsideClass = func() (t [256]uint8) {
		for _, b := range []byte("0123456789+-.eEtrufalsn") {
			t[b] = clsBare
		}
		t[' '], t['\t'], t['\r'] = clsSpace, clsSpace, clsSpace
		t['"'], t['{'], t['['], t['}'], t[']'], t[','], t[':'], t['\n'] = clsQuote, clsOpen, clsOpen, clsClose, clsClose, clsComma, clsColon, clsNewline
		return t
	}()
)

// The states of the fast scan (see Write): outside strings, in a string, after a backslash in a
// string; stop hands the byte to the full logic.
const (
	fastOutside = 0 << 8 // each state is a row of 256 entries in a fast table
	fastString  = 1 << 8
	fastEscape  = 2 << 8
	fastStop    = 3 << 8
)

// fastDeep and fastTop are the fast scan's transitions below the top level and at it. Brackets,
// newlines and bytes that are not JSON stop it everywhere; at the top level every byte outside
// strings but blanks stops it too (they decide which string is a key or the resourceType).
var fastDeep, fastTop = fastTables()

func fastTables() (deep, top [1024]uint16) {
	for b := range 256 {
		out := uint16(fastStop)
		switch outsideClass[b] {
		case clsSpace, clsBare, clsComma, clsColon:
			out = fastOutside
		case clsQuote:
			out = fastString
		}
		deep[fastOutside|b], top[fastOutside|b] = out, out
		if c := outsideClass[b]; c == clsComma || c == clsColon || c == clsQuote || c == clsBare {
			top[fastOutside|b] = fastStop
		}
		str := uint16(fastString)
		switch b {
		case '"':
			str = fastOutside
		case '\\':
			str = fastEscape
		case '\n':
			str = fastStop
		}
		deep[fastString|b], top[fastString|b] = str, str
		deep[fastEscape|b], top[fastEscape|b] = fastString, fastString
		deep[fastStop|b], top[fastStop|b] = fastStop, fastStop
	}
	return deep, top
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

// Write checks p. Its error names the line number. Whole lines of p take wholeLine's path; lines
// it declines, and lines cut by p's ends, are scanned by the state machine.
func (c *lineChecker) Write(p []byte) (int, error) {
	for done := 0; done < len(p); {
		rest := p[done:]
		nl := bytes.IndexByte(rest, '\n')
		if nl >= 0 && !c.midLine() && c.wholeLine(rest[:nl]) {
			c.offset += int64(nl + 1)
			done += nl + 1
			continue
		}
		end := len(rest)
		if nl >= 0 {
			end = nl + 1
		}
		if n, err := c.scan(rest[:end]); err != nil {
			return done + n, err
		}
		done += end
	}
	return len(p), nil
}

// midLine reports whether the state machine is inside a line begun in an earlier buffer.
func (c *lineChecker) midLine() bool { return c.started || c.lineLen > 0 }

// lineEnd ends wholeLine's line after its object: only blanks may follow, and the object must
// have the right resourceType.
func (c *lineChecker) lineEnd(rest, rtype []byte) bool {
	for _, b := range rest {
		if b != ' ' && b != '\t' && b != '\r' {
			return false
		}
	}
	if len(rtype) == 0 || (c.want != "" && string(rtype) != c.want) {
		return false
	}
	c.resources++
	c.line++
	return true
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
