package deid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// The oracle for ScrubJSON is the map path the ETL used before it: validate and decode the line
// with go-json (numbers as json.Number), Scrub the map, and compare decoded values.

// oracleCodebook has legacy Patient and Encounter ids, one of them needing JSON escapes.
var oracleCodebook = sync.OnceValues(func() (*Codebook, error) {
	return ParseCodebook([]byte(`{"version":1,"id_salt":"1234","codebook_id":"oracle",
		"Patient":{"p1":"legacy-p1"},"Encounter":{"e1":"legacy \"quoted\"\n e1"}}`), nil)
})

// errClass names what became of a line, so the two paths can be compared.
type errClass string

const (
	classKept     errClass = "kept"
	classBadInput errClass = "bad input"
	classSkipped  errClass = "skipped"
	classNoRules  errClass = "unsupported type"
)

func classify(outcome Outcome, err error) errClass {
	switch {
	case errors.Is(err, ErrBadInput):
		return classBadInput
	case errors.Is(err, ErrUnsupportedType):
		return classNoRules
	case err != nil:
		return errClass("unexpected error: " + err.Error())
	case outcome == SkippedModifierExtension:
		return classSkipped
	}
	return classKept
}

// goJSONOptions decodes numbers as json.Number, as the ETL's decoder did.
func goJSONOptions(o *gojson.DecodeOption) { o.Flags |= 1 << 3 }

func decodeGoJSON(b []byte) (any, error) {
	var v any
	err := gojson.UnmarshalWithOption(b, &v, goJSONOptions)
	return v, err
}

// mapScrub is the reference path: the ETL's former decodeResource checks, a check for repeated
// keys with encoding/json's tokenizer (independent of ScrubJSON's scanner), then Scrub.
func mapScrub(s *Scrubber, line []byte, wantType string) (map[string]any, errClass) {
	if !utf8.Valid(line) {
		return nil, classBadInput
	}
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) == 0 || trimmed[0] != '{' || repeatsAKey(trimmed) {
		return nil, classBadInput
	}
	var res map[string]any
	if err := gojson.UnmarshalWithOption(trimmed, &res, goJSONOptions); err != nil {
		return nil, classBadInput
	}
	rt, _ := res["resourceType"].(string)
	id, _ := res["id"].(string)
	if rt == "" || (wantType != "" && rt != wantType) || id == "" {
		return nil, classBadInput
	}
	outcome, err := s.Scrub(res)
	return res, classify(outcome, err)
}

// equivalence runs both paths on line and describes the first difference ("" if none).
func equivalence(line []byte, wantType string) string {
	cb, err := oracleCodebook()
	if err != nil {
		return err.Error()
	}
	ms, _ := NewScrubber(cb)
	ss, _ := NewScrubber(cb)
	want, wantClass := mapScrub(ms, line, wantType)
	out, id, outcome, err := ss.ScrubJSON([]byte("prefix"), line, wantType)
	gotClass := classify(outcome, err)
	if !bytes.HasPrefix(out, []byte("prefix")) {
		return "ScrubJSON did not append to dst"
	}
	out = out[len("prefix"):]
	if gotClass != wantClass {
		return fmt.Sprintf("class: ScrubJSON %s (%v), Scrub %s", gotClass, err, wantClass)
	}
	if gotClass != classKept {
		if len(out) != 0 {
			return fmt.Sprintf("%s but wrote %s", gotClass, out)
		}
		return ""
	}
	got, err := decodeGoJSON(out)
	if err != nil {
		return fmt.Sprintf("output is not JSON: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, any(want)) {
		wantJSON, _ := gojson.Marshal(want)
		gotJSON, _ := gojson.Marshal(got)
		return fmt.Sprintf("output differs:\n got  %s\n want %s", gotJSON, wantJSON)
	}
	if wantID, _ := want["id"].(string); id != wantID {
		return fmt.Sprintf("id = %q, want %q", id, wantID)
	}
	for _, c := range []struct {
		name      string
		got, want map[string]int
	}{
		{"UnknownExtensions", ss.UnknownExtensions(), ms.UnknownExtensions()},
		{"ShapeMismatches", ss.ShapeMismatches(), ms.ShapeMismatches()},
		{"DroppedValues", ss.DroppedValues(), ms.DroppedValues()},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			return fmt.Sprintf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	return ""
}

// repeatsAKey reports whether any object in a JSON text repeats a key (comparing unescaped
// keys); invalid JSON is left for the decoder to refuse.
func repeatsAKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys     map[string]bool
		isObject bool
		wantKey  bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].isObject && stack[top].wantKey {
			if key, ok := tok.(string); ok {
				if stack[top].keys[key] {
					return true
				}
				stack[top].keys[key] = true
				stack[top].wantKey = false
				continue
			}
		}
		if top >= 0 && stack[top].isObject {
			stack[top].wantKey = true // this token is a value (or the closing brace)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, isObject: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].isObject {
				stack[len(stack)-1].wantKey = true
			}
		}
	}
}
