package etl

import (
	"bytes"
	"sync"

	"cumulus-etl/internal/deid"
)

// rowBuffers recycles the scratch buffers resources are de-identified into.
var rowBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRow caps the scratch buffer a pool keeps, so one huge line does not pin its memory.
const maxPooledRow = 4 << 20

// scrubLine validates and de-identifies one ndjson line of a wantType file in a single pass
// over its bytes (numbers keep their exact digits). It returns the de-identified row, which the
// caller owns, and the de-identified id. Bad lines (not UTF-8, not a JSON object,
// not valid JSON, no id, or a resourceType other than the file's) return an error wrapping
// deid.ErrBadInput.
func scrubLine(s *deid.Scrubber, line []byte, wantType string) (row []byte, id string, outcome deid.Outcome, err error) {
	buf := rowBuffers.Get().(*[]byte)
	out, id, outcome, err := s.ScrubJSON((*buf)[:0], line, wantType)
	if err == nil && outcome == deid.Kept {
		row = bytes.Clone(out)
	}
	if cap(out) <= maxPooledRow {
		*buf = out[:0]
		rowBuffers.Put(buf)
	}
	return row, id, outcome, err
}
