package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// errBadJSON reports a line the id rewriter cannot scan.
var errBadJSON = errors.New("unterminated JSON string")

// idRewriter rewrites one ndjson line of FHIR JSON so its resource becomes a distinct copy: every
// string value of an "id" member gets the prefix, and so does the id in every relative reference
// ("reference" members, plus "url" members when urlIsRef is set, for deleted Bundles' entry.request.url):
// "Type/x" → "Type/<prefix>x", "Type/x/_history/2" → "Type/<prefix>x/_history/2", "#x" → "#<prefix>x".
// Absolute URLs, urn:uuid: references and anything else are copied unchanged. It scans the bytes
// once without decoding the document, so key order, numbers and spacing survive.
type idRewriter struct {
	prefix   []byte
	urlIsRef bool
}

// rewrite appends the rewritten line to dst.
func (w idRewriter) rewrite(dst, line []byte) ([]byte, error) {
	for i := 0; i < len(line); {
		k := bytes.IndexByte(line[i:], '"')
		if k < 0 {
			return append(dst, line[i:]...), nil
		}
		dst = append(dst, line[i:i+k]...)
		i += k
		end, err := stringEnd(line, i)
		if err != nil {
			return nil, err
		}
		colon := skipSpace(line, end)
		if colon >= len(line) || line[colon] != ':' {
			dst = append(dst, line[i:end]...) // a string value of no interest
			i = end
			continue
		}
		key := line[i:end]
		value := skipSpace(line, colon+1)
		dst = append(dst, line[i:value]...)
		i = value
		if i >= len(line) || line[i] != '"' {
			continue
		}
		if end, err = stringEnd(line, i); err != nil {
			return nil, err
		}
		switch {
		case string(key) == `"id"`:
			dst, err = w.value(dst, line[i:end], w.id)
		case string(key) == `"reference"` || w.urlIsRef && string(key) == `"url"`:
			dst, err = w.value(dst, line[i:end], w.reference)
		default:
			dst = append(dst, line[i:end]...)
		}
		if err != nil {
			return nil, err
		}
		i = end
	}
	return dst, nil
}

// value appends the quoted JSON string tok after passing its contents through fn.
func (w idRewriter) value(dst, tok []byte, fn func(dst []byte, s string) []byte) ([]byte, error) {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		dst = append(dst, '"')
		return append(fn(dst, string(inner)), '"'), nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, err
	}
	out, err := json.Marshal(string(fn(nil, s)))
	return append(dst, out...), err
}

// id appends the prefixed id.
func (w idRewriter) id(dst []byte, s string) []byte {
	return append(append(dst, w.prefix...), s...)
}

// reference appends s with the id of a relative or local reference prefixed.
func (w idRewriter) reference(dst []byte, s string) []byte {
	if len(s) > 1 && s[0] == '#' {
		return w.id(append(dst, '#'), s[1:])
	}
	slash := relativeType(s)
	if slash < 0 {
		return append(dst, s...)
	}
	return w.id(append(dst, s[:slash+1]...), s[slash+1:])
}

// relativeType returns the index of the slash after the resource type if s is a relative reference
// "Type/id" or "Type/id/_history/v", else -1.
func relativeType(s string) int {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return -1
	}
	slash := 1
	for slash < len(s) && isLetter(s[slash]) {
		slash++
	}
	if slash == len(s) || s[slash] != '/' {
		return -1
	}
	id := s[slash+1:]
	if h := strings.Index(id, "/_history/"); h >= 0 {
		id = id[:h]
	}
	if id == "" || len(id) > 64 {
		return -1
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.' {
			return -1
		}
	}
	return slash
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// stringEnd returns the index just past the JSON string starting at line[i] == '"'.
func stringEnd(line []byte, i int) (int, error) {
	for j := i + 1; ; {
		k := bytes.IndexByte(line[j:], '"')
		if k < 0 {
			return 0, errBadJSON
		}
		j += k
		backslashes := 0
		for b := j - 1; b > i && line[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r') {
		i++
	}
	return i
}
