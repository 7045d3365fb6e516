package bulktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SyntheticLineLen is the length of every generated ndjson line, newline included.
const SyntheticLineLen = 1024

// Synthetic is deterministic ndjson generated on the fly (nothing stored), seekable so the fake
// can answer Range requests: line n is {"resourceType":T,"id":"n",...} padded to SyntheticLineLen.
type Synthetic struct {
	typ  string
	size int64
	off  int64
	line int64
	buf  []byte
}

// NewSynthetic returns size bytes (rounded down to whole lines) of resources of type typ.
func NewSynthetic(typ string, size int64) *Synthetic {
	return &Synthetic{typ: typ, size: size / SyntheticLineLen * SyntheticLineLen, line: -1}
}

// Size is the content length.
func (s *Synthetic) Size() int64 { return s.size }

func (s *Synthetic) render(n int64) []byte {
	if s.line != n {
		head := fmt.Sprintf(`{"resourceType":%q,"id":"%012d","status":"final","note":"`, s.typ, n)
		pad := SyntheticLineLen - len(head) - len("\"}\n")
		s.buf = append(s.buf[:0], head...)
		s.buf = append(s.buf, strings.Repeat(string(rune('a'+n%26)), pad)...)
		s.buf = append(s.buf, "\"}\n"...)
		s.line = n
	}
	return s.buf
}

// Read implements io.Reader.
func (s *Synthetic) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.off < s.size {
		line := s.render(s.off / SyntheticLineLen)
		c := copy(p[n:], line[s.off%SyntheticLineLen:])
		n += c
		s.off += int64(c)
	}
	return n, nil
}

// Seek implements io.Seeker.
func (s *Synthetic) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 {
		return 0, errors.New("synthetic: negative position")
	}
	s.off = offset
	return offset, nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// SlowChunk is the most a file body sends between two pauses of Script.ChunkDelay: a
// connection to the fake server carries at most SlowChunk bytes per ChunkDelay.
const SlowChunk = 32 << 10

// slowWriter sends a body in chunks of at most SlowChunk bytes with a pause after each.
type slowWriter struct {
	http.ResponseWriter
	delay time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), SlowChunk)
		m, err := w.ResponseWriter.Write(p[:c])
		n += m
		if err != nil {
			return n, err
		}
		w.ResponseWriter.(http.Flusher).Flush()
		time.Sleep(w.delay)
		p = p[c:]
	}
	return n, nil
}

// Flush implements http.Flusher.
func (w *slowWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }
