// Package jsonrow reads one JSON value, such as a de-identified row, token by token without
// building maps: the schema and the column writers walk rows with it.
package jsonrow

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Value kinds, as Peek reports them.
const (
	Object = '{'
	Array  = '['
	String = '"'
	Number = '0'
	True   = 't'
	False  = 'f'
	Null   = 'n'
	End    = 0 // no value left where one was expected
)

// Reader reads one JSON document. Its methods return an error naming the byte offset of bad
// input; after an error the Reader is not usable.
type Reader struct {
	data    []byte
	pos     int
	scratch []byte // unescaped strings
	first   []bool // per open container: no member read yet
	escaped bool   // the last string read was unescaped into scratch
}

// Reset starts reading data, reusing the Reader's buffers.
func (r *Reader) Reset(data []byte) {
	r.data, r.pos, r.first = data, 0, r.first[:0]
}

// Offset is the position of the next unread byte.
func (r *Reader) Offset() int { return r.pos }

func (r *Reader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", r.pos, fmt.Sprintf(format, args...))
}

// Peek returns the kind of the next value without reading it.
func (r *Reader) Peek() byte {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return End
	}
	switch c := r.data[r.pos]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return Number
	}
	return End
}

// BeginObject reads the '{' of an object; then call Key until it reports no more members.
func (r *Reader) BeginObject() error { return r.begin('{') }

// BeginArray reads the '[' of an array; then call More before each element.
func (r *Reader) BeginArray() error { return r.begin('[') }

func (r *Reader) begin(c byte) error {
	r.skipSpace()
	if r.pos >= len(r.data) || r.data[r.pos] != c {
		return r.errorf("expected %q", c)
	}
	r.pos++
	r.first = append(r.first, true)
	return nil
}

// more consumes the ',' between members or the closing byte; it reports whether a member follows.
func (r *Reader) more(closing byte) (bool, error) {
	if len(r.first) == 0 {
		return false, errors.New("jsonrow: no open object or array")
	}
	top := len(r.first) - 1
	r.skipSpace()
	if r.pos >= len(r.data) {
		return false, r.errorf("unexpected end")
	}
	if r.data[r.pos] == closing {
		r.pos++
		r.first = r.first[:top]
		return false, nil
	}
	if r.first[top] {
		r.first[top] = false
		return true, nil
	}
	if r.data[r.pos] != ',' {
		return false, r.errorf("expected ',' or %q", closing)
	}
	r.pos++
	return true, nil
}

// More reports whether the current array has another element, consuming the array's end if not.
func (r *Reader) More() (bool, error) { return r.more(']') }

// Key returns the next member's name of the current object, or ok=false at its end. The name is
// valid until the next call that reads a string.
func (r *Reader) Key() (name []byte, ok bool, err error) {
	if ok, err = r.more('}'); !ok || err != nil {
		return nil, ok, err
	}
	if name, err = r.String(); err != nil {
		return nil, false, err
	}
	r.skipSpace()
	if r.pos >= len(r.data) || r.data[r.pos] != ':' {
		return nil, false, r.errorf("expected ':'")
	}
	r.pos++
	return name, true, nil
}

// String reads a string and returns its unescaped bytes, valid until the next string is read.
func (r *Reader) String() ([]byte, error) {
	r.skipSpace()
	if r.pos >= len(r.data) || r.data[r.pos] != '"' {
		return nil, r.errorf("expected a string")
	}
	start := r.pos + 1
	for i := start; i < len(r.data); i++ {
		switch c := r.data[i]; {
		case c == '"':
			r.pos = i + 1
			r.escaped = false
			return r.data[start:i], nil
		case c == '\\':
			return r.unescape(start, i)
		case c < 0x20:
			r.pos = i
			return nil, r.errorf("control character in string")
		}
	}
	r.pos = len(r.data)
	return nil, r.errorf("unterminated string")
}

func (r *Reader) unescape(start, i int) ([]byte, error) {
	out := append(r.scratch[:0], r.data[start:i]...)
	for i < len(r.data) {
		c := r.data[i]
		switch {
		case c == '"':
			r.pos = i + 1
			r.scratch = out
			r.escaped = true
			return out, nil
		case c < 0x20:
			r.pos = i
			return nil, r.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(r.data) {
			break
		}
		switch e := r.data[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			rn, n, ok := r.unicode(i)
			if !ok {
				r.pos = i
				return nil, r.errorf("bad \\u escape")
			}
			out = utf8.AppendRune(out, rn)
			i += n
			continue
		default:
			r.pos = i
			return nil, r.errorf("bad escape")
		}
		i += 2
	}
	r.pos = len(r.data)
	return nil, r.errorf("unterminated string")
}

// unicode decodes the \uXXXX escape (or surrogate pair) at i; n is how many bytes it used.
func (r *Reader) unicode(i int) (rn rune, n int, ok bool) {
	hex := func(at int) (rune, bool) {
		if at+6 > len(r.data) || r.data[at] != '\\' || r.data[at+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(r.data[at+2:at+6]), 16, 16)
		return rune(v), err == nil
	}
	first, ok := hex(i)
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(first) {
		if second, ok := hex(i + 6); ok {
			if rn := utf16.DecodeRune(first, second); rn != utf8.RuneError {
				return rn, 12, true
			}
		}
		return utf8.RuneError, 6, true
	}
	return first, 6, true
}

// Escaped reports whether the last string read had escapes, so its bytes are the Reader's own
// (overwritten by the next string) rather than part of the document.
func (r *Reader) Escaped() bool { return r.escaped }

// Number reads a number and returns its text as written.
func (r *Reader) Number() ([]byte, error) {
	r.skipSpace()
	start := r.pos
	i := r.pos
	if i < len(r.data) && r.data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(r.data) && r.data[i] >= '0' && r.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return nil, r.errorf("expected a number")
	}
	if i < len(r.data) && r.data[i] == '.' {
		i++
		if digits() == 0 {
			r.pos = i
			return nil, r.errorf("bad number")
		}
	}
	if i < len(r.data) && (r.data[i] == 'e' || r.data[i] == 'E') {
		i++
		if i < len(r.data) && (r.data[i] == '+' || r.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			r.pos = i
			return nil, r.errorf("bad number")
		}
	}
	r.pos = i
	return r.data[start:i], nil
}

// Bool reads true or false.
func (r *Reader) Bool() (bool, error) {
	switch r.Peek() {
	case True:
		return true, r.literal("true")
	case False:
		return false, r.literal("false")
	}
	return false, r.errorf("expected true or false")
}

// Null reads null.
func (r *Reader) Null() error { return r.literal("null") }

func (r *Reader) literal(word string) error {
	r.skipSpace()
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return r.errorf("expected %s", word)
	}
	r.pos += len(word)
	return nil
}

// Skip reads and discards the next value, whatever it is.
func (r *Reader) Skip() error {
	switch r.Peek() {
	case Object:
		if err := r.BeginObject(); err != nil {
			return err
		}
		for {
			_, ok, err := r.Key()
			if err != nil || !ok {
				return err
			}
			if err := r.Skip(); err != nil {
				return err
			}
		}
	case Array:
		if err := r.BeginArray(); err != nil {
			return err
		}
		for {
			ok, err := r.More()
			if err != nil || !ok {
				return err
			}
			if err := r.Skip(); err != nil {
				return err
			}
		}
	case String:
		_, err := r.String()
		return err
	case Number:
		_, err := r.Number()
		return err
	case True, False:
		_, err := r.Bool()
		return err
	case Null:
		return r.Null()
	}
	return r.errorf("expected a value")
}

// Finish checks that nothing but white space follows the value.
func (r *Reader) Finish() error {
	r.skipSpace()
	if r.pos != len(r.data) {
		return r.errorf("unexpected data after the value")
	}
	return nil
}

// Mark is a position to come back to with Rewind.
type Mark struct {
	pos, depth int
	top        bool
}

// Mark remembers the current position, to read ahead and then Rewind.
func (r *Reader) Mark() Mark {
	m := Mark{pos: r.pos, depth: len(r.first)}
	if m.depth > 0 {
		m.top = r.first[m.depth-1]
	}
	return m
}

// Rewind returns to a position that Mark returned, inside the same container.
func (r *Reader) Rewind(m Mark) {
	r.pos, r.first = m.pos, r.first[:m.depth]
	if m.depth > 0 {
		r.first[m.depth-1] = m.top
	}
}
