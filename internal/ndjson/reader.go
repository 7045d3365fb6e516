// Package ndjson reads newline-delimited JSON files line by line, with
// transparent gzip decompression, no line length limit and bounded memory.
//
// It knows nothing about FHIR and does not parse JSON: callers decode each
// line themselves and use Reader.Errorf to report problems as "file:line: ...".
package ndjson

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// bufSize is the size of the read buffer; lines that fit in it are
	// returned without copying.
	bufSize = 64 << 10
	// maxRetained is the largest line buffer kept between lines; a bigger
	// one (left by a huge line) is dropped so it can be garbage collected.
	maxRetained = 1 << 20
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	utf8BOM   = []byte{0xEF, 0xBB, 0xBF}
)

// Reader yields the non-blank lines of an ndjson stream one at a time.
// It holds at most one line plus a 64 KB buffer in memory.
type Reader struct {
	name string
	br   *bufio.Reader
	gz   *gzip.Reader // nil for plain input
	file io.Closer    // nil unless opened by Open or NewReadCloser
	buf  []byte       // assembles lines longer than the read buffer
	line []byte
	// lineInBuf says the current line lives in buf (not in br's buffer), so TakeLine can give it away.
	lineInBuf bool
	lineNo    int
	err       error
}

// Open opens the file at path for line reading. Gzip compression is detected
// from the file's first bytes, whatever its name.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReadCloser is NewReader for a stream the Reader owns: Close closes src too (also when
// NewReadCloser fails).
func NewReadCloser(src io.ReadCloser, name string) (*Reader, error) {
	r, err := NewReader(src, name)
	if err != nil {
		src.Close()
		return nil, err
	}
	r.file = src
	return r, nil
}

// NewReader reads lines from src, decompressing it if it starts with the gzip
// magic bytes. The name is used in error messages. Close does not close src.
func NewReader(src io.Reader, name string) (*Reader, error) {
	raw := bufio.NewReaderSize(src, bufSize)
	magic, err := raw.Peek(len(gzipMagic))
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: reading: %w", name, err)
	}
	r := &Reader{name: name, br: raw}
	if bytes.Equal(magic, gzipMagic) {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: reading gzip header: %w", name, err)
		}
		r.gz = gz
		r.br = bufio.NewReaderSize(gz, bufSize)
	}
	return r, nil
}

// Name returns the name given to NewReader, or the path given to Open.
func (r *Reader) Name() string { return r.name }

// Next advances to the next line that is not empty or whitespace only.
// It returns false at the end of the input or on error; see Err.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	if cap(r.buf) > maxRetained {
		r.buf = nil
	}
	for {
		line, err := r.readLine()
		if err != nil {
			r.line = nil // before Errorf, so the error names the line being read
			if err != io.EOF {
				r.err = r.Errorf("%w", describe(err, r.gz != nil))
			}
			return false
		}
		if r.lineNo == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if !isBlank(line) {
			r.line = line
			return true
		}
	}
}

// readLine returns the next physical line without its line ending. At the
// end of the input it returns io.EOF; a final line without a newline is
// still returned first.
func (r *Reader) readLine() ([]byte, error) {
	chunk, err := r.br.ReadSlice('\n')
	r.lineInBuf = err == bufio.ErrBufferFull
	if err == bufio.ErrBufferFull {
		r.buf = append(r.buf[:0], chunk...)
		for err == bufio.ErrBufferFull {
			chunk, err = r.br.ReadSlice('\n')
			r.buf = append(r.buf, chunk...)
		}
		chunk = r.buf
	}
	if err != nil && (err != io.EOF || len(chunk) == 0) {
		return nil, err
	}
	r.lineNo++
	chunk = bytes.TrimSuffix(chunk, []byte{'\n'})
	return bytes.TrimSuffix(chunk, []byte{'\r'}), nil
}

// describe turns a decompression error into a message a user can act on.
func describe(err error, gzipped bool) error {
	if gzipped && errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("gzip stream is truncated (incomplete download or copy?): %w", err)
	}
	if gzipped {
		return fmt.Errorf("gzip stream is corrupt: %w", err)
	}
	return fmt.Errorf("reading: %w", err)
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// Line returns the current line without its line ending (and without a UTF-8
// byte order mark on the first line). It is only valid until the next call
// to Next.
func (r *Reader) Line() []byte { return r.line }

// TakeLine returns the current line like Line, but hands its memory to the caller, who may keep
// it: the reader reads the next line into fresh memory. For a line longer than the reader's
// buffer this costs no copy, which is what lets a caller hold a line of many megabytes without a
// second copy of it.
func (r *Reader) TakeLine() []byte {
	line := r.line
	if r.lineInBuf {
		r.buf, r.lineInBuf = nil, false // the line lives in r.buf: give it away
		return line
	}
	return bytes.Clone(line) // the line lives in the bufio buffer, which is reused
}

// LineNumber returns the 1-based physical line number of the current line,
// counting blank lines.
func (r *Reader) LineNumber() int { return r.lineNo }

// Err returns the first error met by Next, formatted as "<name>:<line>: ...".
// It is nil when Next stopped at the end of the input.
func (r *Reader) Err() error { return r.err }

// Errorf returns an error about the current line, formatted as
// "<name>:<line>: <message>"; %w in format wraps as with fmt.Errorf.
// When no line has been read yet, it names the line being read.
func (r *Reader) Errorf(format string, a ...any) error {
	line := r.lineNo
	if r.line == nil {
		line++ // the error is about the line being read, not the last one
	}
	return fmt.Errorf("%s:%d: "+format, append([]any{r.name, line}, a...)...)
}

// Close releases the decompressor and closes the file if the Reader was made
// by Open (or the stream, by NewReadCloser).
func (r *Reader) Close() error {
	var errs []error
	if r.gz != nil {
		errs = append(errs, r.gz.Close())
	}
	if r.file != nil {
		errs = append(errs, r.file.Close())
	}
	return errors.Join(errs...)
}
