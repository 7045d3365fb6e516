package deid

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// pyJSON writes JSON the way Python's json.dump does by default (", " and ": " separators,
// non-ASCII escaped as \uXXXX), so a codebook.json written here is byte-compatible with Cumulus.
type pyJSON struct{ buf []byte }

func (w *pyJSON) raw(s string) { w.buf = append(w.buf, s...) }

func (w *pyJSON) str(s string) {
	w.buf = append(w.buf, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			w.buf = append(w.buf, '\\', byte(r))
		case r == '\n':
			w.raw(`\n`)
		case r == '\r':
			w.raw(`\r`)
		case r == '\t':
			w.raw(`\t`)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff) || r == utf8.RuneError:
			w.raw(fmt.Sprintf(`\u%04x`, r))
		case r > 0xffff:
			r -= 0x10000
			w.raw(fmt.Sprintf(`\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff)))
		default:
			w.buf = append(w.buf, byte(r))
		}
	}
	w.buf = append(w.buf, '"')
}

func (w *pyJSON) strMap(m map[string]string) {
	w.raw("{")
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			w.raw(", ")
		}
		w.str(k)
		w.raw(": ")
		w.str(m[k])
	}
	w.raw("}")
}

// value writes a value decoded by encoding/json with UseNumber (maps, slices, strings, numbers,
// bools, nil).
func (w *pyJSON) value(v any) error {
	switch t := v.(type) {
	case nil:
		w.raw("null")
	case bool:
		w.raw(strconv.FormatBool(t))
	case json.Number:
		w.raw(t.String())
	case string:
		w.str(t)
	case []any:
		w.raw("[")
		for i, e := range t {
			if i > 0 {
				w.raw(", ")
			}
			if err := w.value(e); err != nil {
				return err
			}
		}
		w.raw("]")
	case map[string]any:
		w.raw("{")
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				w.raw(", ")
			}
			w.str(k)
			w.raw(": ")
			if err := w.value(t[k]); err != nil {
				return err
			}
		}
		w.raw("}")
	default:
		return fmt.Errorf("unexpected JSON value of type %T", v)
	}
	return nil
}
