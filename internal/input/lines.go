package input

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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

// eachObject decodes every line of every file into a fresh T and calls fn with it and the
// reader (for Errorf). A line that is not a JSON object goes to badLine, and so does an error from
// fn: the walk stops when badLine returns an error (which names the file and line), and goes on
// to the next line when it returns nil. A file that cannot be read to its end stops the walk.
func eachObject[T any](ctx context.Context, files []File, badLine func(error) error, fn func(r *ndjson.Reader, v *T) error) error {
	for _, f := range files {
		if err := eachObjectIn(ctx, f, badLine, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachObjectIn[T any](ctx context.Context, f File, badLine func(error) error, fn func(r *ndjson.Reader, v *T) error) error {
	r, err := f.Open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		var v T
		err := decodeObject(r.Line(), &v)
		if err != nil {
			err = r.Errorf("%w", err)
		} else {
			err = fn(r, &v)
		}
		if err != nil {
			if err := badLine(err); err != nil {
				return err
			}
		}
	}
	return r.Err()
}

// stopAtFirst is the badLine of a walk that stops at the first bad line.
func stopAtFirst(err error) error { return err }

// maxLineErrors is how many bad lines a lineErrors names; the others are counted.
const maxLineErrors = 100

// lineErrors collects the bad lines of a walk that goes on past them, in bounded memory: the
// first maxLineErrors are kept, the others counted.
type lineErrors struct {
	shown []error
	total int
}

// add is a badLine that records err and lets the walk go on.
func (e *lineErrors) add(err error) error {
	e.total++
	if len(e.shown) < maxLineErrors {
		e.shown = append(e.shown, err)
	}
	return nil
}

// err returns nil when no line was bad, else sentinel wrapped with every line kept.
func (e *lineErrors) err(sentinel error) error {
	if e.total == 0 {
		return nil
	}
	var b strings.Builder
	for _, err := range e.shown {
		fmt.Fprintf(&b, "\n  %v", err)
	}
	if more := e.total - len(e.shown); more > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", more)
	}
	noun := "line"
	if e.total != 1 {
		noun = "lines"
	}
	return fmt.Errorf("%w (%d %s):%s", sentinel, e.total, noun, b.String())
}
