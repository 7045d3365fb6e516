package synth

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// field is one member of an ordered JSON object.
type field struct {
	k string
	v any
}

// obj is a JSON object that keeps its members in the order written, so output reads like a real
// export (resourceType first) and is byte-identical run to run. Members whose value is nil are omitted.
type obj []field

// arr is a JSON array of arbitrary values.
type arr []any

// null is an explicit JSON null (a nil value omits the member instead).
type null struct{}

// appendJSON appends the JSON encoding of v to b. It does not escape HTML characters, like the
// FHIR servers whose exports it imitates.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case obj:
		b = append(b, '{')
		first := true
		for _, f := range v {
			if f.v == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, f.k)
			b = append(b, ':')
			b = appendJSON(b, f.v)
		}
		return append(b, '}')
	case arr:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case null:
		return append(b, "null"...)
	default:
		panic(fmt.Sprintf("synth: cannot encode %T", v))
	}
}

// appendString appends s as a JSON string literal.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+size]...)
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}
