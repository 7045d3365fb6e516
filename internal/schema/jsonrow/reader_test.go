package jsonrow

import (
	"encoding/json"
	"strings"
	"testing"
)

// walk re-encodes a document through the Reader, so it can be compared with encoding/json.
func walk(r *Reader) (any, error) {
	switch r.Peek() {
	case Object:
		if err := r.BeginObject(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for {
			k, ok, err := r.Key()
			if err != nil {
				return nil, err
			}
			if !ok {
				return m, nil
			}
			key := string(k)
			if m[key], err = walk(r); err != nil {
				return nil, err
			}
		}
	case Array:
		if err := r.BeginArray(); err != nil {
			return nil, err
		}
		a := []any{}
		for {
			more, err := r.More()
			if err != nil {
				return nil, err
			}
			if !more {
				return a, nil
			}
			v, err := walk(r)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case String:
		s, err := r.String()
		return string(s), err
	case Number:
		n, err := r.Number()
		return json.Number(n), err
	case True, False:
		return r.Bool()
	case Null:
		return nil, r.Null()
	}
	return nil, r.Skip()
}

func TestReaderAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{"a":1,"b":[true,false,null,-1.5e+3],"c":{"d":"e\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}}`,
		` { "x" : [ ] , "y" : { } } `,
		`"\ud800"`, // a lone surrogate becomes U+FFFD, as encoding/json does
		`[0,-0,12.25,1E2]`,
	} {
		var r Reader
		r.Reset([]byte(doc))
		got, err := walk(&r)
		if err == nil {
			err = r.Finish()
		}
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		d := json.NewDecoder(strings.NewReader(doc))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s:\n got %s\nwant %s", doc, g, w)
		}
	}
}

func TestReaderRefusesBadJSON(t *testing.T) {
	for _, doc := range []string{
		`{"a":1`, `{"a" 1}`, `{"a":1,}x`, `[1 2]`, `"abc`, "\"a\x01\"", `"\x"`, `"\u12"`, `01x`, `1.`, `1e`, `tru`, `{"a":1} x`, ``,
	} {
		var r Reader
		r.Reset([]byte(doc))
		_, err := walk(&r)
		if err == nil {
			err = r.Finish()
		}
		if err == nil {
			t.Errorf("%q: no error", doc)
		} else if !strings.Contains(err.Error(), "offset") && !strings.Contains(err.Error(), "expected") {
			t.Errorf("%q: error without a position: %v", doc, err)
		}
	}
}

func TestMarkAndRewind(t *testing.T) {
	var r Reader
	r.Reset([]byte(`[{"b":1,"resourceType":"X"},2]`))
	_ = r.BeginArray()
	_, _ = r.More()
	m := r.Mark()
	_ = r.BeginObject()
	_, _, _ = r.Key()
	_ = r.Skip()
	r.Rewind(m)
	got, err := walk(&r)
	if err != nil || len(got.(map[string]any)) != 2 {
		t.Fatalf("after Rewind: %v %v", got, err)
	}
	if more, _ := r.More(); !more {
		t.Fatal("array ended early after Rewind")
	}
}
