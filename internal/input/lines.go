package input

import (
	"bytes"
	"encoding/json"
	"errors"

	"cumulus-etl/internal/ndjson"
)

// errNotObject reports a line that is valid JSON but not a JSON object.
var errNotObject = errors.New("not a JSON object")

// decodeObject decodes one ndjson line, which must be a JSON object, into v.
func decodeObject(line []byte, v any) error {
	if trimmed := bytes.TrimLeft(line, " \t\r"); len(trimmed) == 0 || trimmed[0] != '{' {
		return errNotObject
	}
	return json.Unmarshal(line, v)
}

// eachObject decodes every line of every file into a fresh T and calls fn
// with it and the reader (for Errorf). It stops at the first error, which
// names the file and line.
func eachObject[T any](files []File, fn func(r *ndjson.Reader, v *T) error) error {
	for _, f := range files {
		if err := eachObjectIn(f.Path, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachObjectIn[T any](path string, fn func(r *ndjson.Reader, v *T) error) error {
	r, err := ndjson.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		var v T
		if err := decodeObject(r.Line(), &v); err != nil {
			return r.Errorf("%w", err)
		}
		if err := fn(r, &v); err != nil {
			return err
		}
	}
	return r.Err()
}
