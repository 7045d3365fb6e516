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
// Each buffer is scanned in one loop over its bytes, driven by byte-class tables, with the state
// in local variables and the runs that change nothing (string contents, numbers, whitespace)
// taken a run at a time: a resource is mostly strings, and a fifth of its bytes are structure,
// so the cost per structural byte is what sets the speed (issue 12).
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
	clsBare           // whitespace, digits, signs and the letters of true, false and null
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
		for _, b := range []byte(" \t\r0123456789+-.eEtrufalsn") {
			t[b] = clsBare
		}
		t['"'], t['{'], t['['], t['}'], t[']'], t[','], t[':'], t['\n'] = clsQuote, clsOpen, clsOpen, clsClose, clsClose, clsComma, clsColon, clsNewline
		return t
	}()
	// stringPlain marks the bytes a string's content runs over: all but the quote, the
	// backslash and the newline (which would end the line inside the string).
	stringPlain = func() (t [256]bool) {
		for i := range t {
			t[i] = i != '"' && i != '\\' && i != '\n'
		}
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
// strings stops it too (they decide which string is a key or the resourceType).
var fastDeep, fastTop = fastTables()

func fastTables() (deep, top [1024]uint16) {
	for b := range 256 {
		out := uint16(fastStop)
		switch outsideClass[b] {
		case clsBare, clsComma, clsColon:
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

// wholeLine checks one complete line (without its newline) that starts at a line start, the
// fast way, and counts it when it is an object of the right type. It accepts only lines the
// state machine accepts, and only those that start with '{': it jumps from quote to unescaped
// quote, looking at the bytes between strings only. Anything else (an error to report, a blank
// line, a BOM) returns false, for the state machine to judge with its own messages.
func (c *lineChecker) wholeLine(line []byte) bool {
	if len(line) == 0 || line[0] != '{' || int64(len(line))+1 > c.maxLine {
		return false
	}
	stack := append(c.stack[:0], '{')
	keyNext, rtNext := true, false
	var rtype []byte
	i := 1
	for ; i < len(line) && len(stack) > 0; i++ {
		b := line[i]
		top := len(stack) == 1
		switch outsideClass[b] {
		case clsQuote:
			k := closingQuote(line, i+1)
			if k < 0 {
				return false
			}
			if str := line[i+1 : k]; top && bytes.IndexByte(str, '\\') < 0 { // escaped keys are never resourceType
				switch {
				case keyNext:
					rtNext = string(str) == "resourceType"
				case rtNext && len(str) <= maxCapture:
					rtype, rtNext = str, false
				}
			} else if top {
				rtNext = rtNext && !keyNext
			}
			i = k
		case clsBare:
			if top {
				rtNext = false
			}
		case clsOpen:
			stack = append(stack, b)
			rtNext = false
		case clsClose:
			open := byte('{')
			if b == ']' {
				open = '['
			}
			if stack[len(stack)-1] != open {
				return false
			}
			stack = stack[:len(stack)-1]
		case clsComma:
			if top {
				keyNext, rtNext = true, false
			}
		case clsColon:
			if top {
				keyNext = false
			}
		default:
			return false
		}
	}
	c.stack = stack[:0]
	if len(stack) > 0 || len(rtype) == 0 || (c.want != "" && string(rtype) != c.want) {
		return false
	}
	for ; i < len(line); i++ {
		if b := line[i]; b != ' ' && b != '\t' && b != '\r' {
			return false
		}
	}
	c.resources++
	c.line++
	return true
}

// closingQuote returns the index of the quote that closes the string whose content starts at
// from in line (one not escaped: preceded by an even number of backslashes), or -1.
func closingQuote(line []byte, from int) int {
	for j := from; ; {
		k := bytes.IndexByte(line[j:], '"')
		if k < 0 {
			return -1
		}
		k += j
		backslashes := 0
		for b := k - 1; b >= from && line[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return k
		}
		j = k + 1
	}
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
