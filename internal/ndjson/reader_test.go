package ndjson

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type line struct {
	no   int
	text string
}

func readAll(t *testing.T, r *Reader) []line {
	t.Helper()
	var got []line
	for r.Next() {
		got = append(got, line{r.LineNumber(), string(r.Line())})
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	return got
}

func gz(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReaderLineRules(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []line
	}{
		{"empty input has no lines", "", nil},
		{"lines split on newline", "{\"a\":1}\n{\"b\":2}\n", []line{{1, `{"a":1}`}, {2, `{"b":2}`}}},
		{"final line without newline is kept", "{}\n[1]", []line{{1, "{}"}, {2, "[1]"}}},
		{"CRLF endings are stripped", "{}\r\n[]\r\n", []line{{1, "{}"}, {2, "[]"}}},
		{"blank and whitespace lines skipped but counted", "\n  \t\n{}\n\r\n\n[]\n\n", []line{{3, "{}"}, {6, "[]"}}},
		{"BOM on line 1 stripped", "\xEF\xBB\xBF{}\n[]\n", []line{{1, "{}"}, {2, "[]"}}},
		{"BOM-only first line is blank", "\xEF\xBB\xBF\n{}\n", []line{{2, "{}"}}},
		{"BOM after line 1 kept", "{}\n\xEF\xBB\xBF[]\n", []line{{1, "{}"}, {2, "\xEF\xBB\xBF[]"}}},
		{"inner whitespace kept", "  {} \n", []line{{1, "  {} "}}},
	}
	for _, tt := range tests {
		for _, compressed := range []bool{false, true} {
			name := tt.name
			data := []byte(tt.input)
			if compressed {
				name += "/gzip"
				data = gz(t, tt.input)
			}
			t.Run(name, func(t *testing.T) {
				r, err := NewReader(bytes.NewReader(data), "x.ndjson")
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				got := readAll(t, r)
				if len(got) != len(tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("line %d: got %+v, want %+v", i, got[i], tt.want[i])
					}
				}
			})
		}
	}
}

func TestOpenDetectsGzipByMagicBytesNotName(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"plain.ndjson.gz":   []byte("{\"p\":1}\n"), // misleading name, plain content
		"zipped.ndjson":     gz(t, "{\"p\":1}\n"),  // gzip content without .gz
		"zipped.ndjson.gz":  gz(t, "{\"p\":1}\n"),
		"concatenated.gz":   append(gz(t, "{\"p\":1}\n"), gz(t, "")...),
		"single-byte.jsonl": []byte("\x1f"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			r, err := Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := readAll(t, r)
			want := `{"p":1}`
			if name == "single-byte.jsonl" {
				want = "\x1f"
			}
			if len(got) != 1 || got[0].text != want {
				t.Errorf("got %+v, want one line %q", got, want)
			}
		})
	}
}

func TestReaderErrorsNameFileAndLine(t *testing.T) {
	var third strings.Builder
	for i := range 200 {
		fmt.Fprintf(&third, "%d,", i*7919%1000) // poorly compressible
	}
	full := gz(t, "{}\n{}\n["+third.String()+"0]\n")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated gzip stream", full[:len(full)-100], "x.ndjson.gz:3: gzip stream is truncated"},
		{"corrupt gzip checksum", append(full[:len(full)-8:len(full)-8], 0, 0, 0, 0, 0, 0, 0, 0), "x.ndjson.gz:4: gzip stream is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data), "x.ndjson.gz")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for r.Next() {
			}
			if r.Err() == nil || !strings.HasPrefix(r.Err().Error(), tt.want) {
				t.Errorf("Err() = %v, want prefix %q", r.Err(), tt.want)
			}
			if r.Next() {
				t.Error("Next() after an error = true")
			}
		})
	}
}

func TestNewReaderRejectsBadGzipHeader(t *testing.T) {
	_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0}), "bad.gz")
	if err == nil || !strings.HasPrefix(err.Error(), "bad.gz: reading gzip header") {
		t.Errorf("err = %v", err)
	}
}

func TestOpenMissingFileNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.ndjson")
	_, err := Open(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v", err)
	}
}

func TestErrorfNamesCurrentLineAndWraps(t *testing.T) {
	r, err := NewReader(strings.NewReader("\n{}\n"), "in.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Next() {
		t.Fatal("no line")
	}
	sentinel := errors.New("bad thing")
	got := r.Errorf("decoding: %w", sentinel)
	if got.Error() != "in.ndjson:2: decoding: bad thing" || !errors.Is(got, sentinel) {
		t.Errorf("Errorf = %v", got)
	}
	if r.Name() != "in.ndjson" {
		t.Errorf("Name() = %q", r.Name())
	}
}

// TestReaderHugeLine checks there is no line length limit and that the
// buffer a huge line needed is not kept once the reader moves on.
func TestReaderHugeLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70 MB line")
	}
	const size = 70 << 20
	huge := bytes.Repeat([]byte("a"), size)
	huge[0], huge[size-1] = '"', '"'
	input := io.MultiReader(strings.NewReader("{}\n"), bytes.NewReader(huge), strings.NewReader("\r\n[]\n{}"))
	r, err := NewReader(input, "huge.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var lens []int
	for r.Next() {
		lens = append(lens, len(r.Line()))
		if r.LineNumber() == 3 && cap(r.buf) > maxRetained {
			t.Errorf("line buffer of %d bytes still retained after the huge line", cap(r.buf))
		}
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	want := []int{2, size, 2, 2}
	if len(lens) != len(want) || lens[1] != size || lens[2] != 2 {
		t.Errorf("line lengths = %v, want %v", lens, want)
	}
}

func TestTakeLine_KeepsEveryLineIntact(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the read buffer
	r, err := NewReader(strings.NewReader("short\n"+long+"\nlast\n"), "in")
	if err != nil {
		t.Fatal(err)
	}
	var taken [][]byte
	for r.Next() {
		taken = append(taken, r.TakeLine())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(taken) != 3 || string(taken[0]) != "short" || string(taken[1]) != long || string(taken[2]) != "last" {
		t.Errorf("taken lines changed after later reads: %d lines", len(taken))
	}
}
