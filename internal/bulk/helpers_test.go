package bulk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
)

// fakeClock advances instantly on Sleep and records every wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// tokenDoer plays *fhir.Client's auth role: it adds the fake's current token unless the request
// is marked NoCredentials, and on a 401 gets a new token and retries once.
type tokenDoer struct {
	srv *bulktest.Server
	mu  sync.Mutex
	tok string
}

func (d *tokenDoer) Do(req *http.Request) (*http.Response, error) {
	if !fhir.CredentialsAllowed(req.Context()) {
		return http.DefaultClient.Do(req)
	}
	d.mu.Lock()
	if d.tok == "" {
		d.tok = d.srv.IssueToken()
	}
	tok := d.tok
	d.mu.Unlock()
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	resp.Body.Close()
	d.mu.Lock()
	d.tok = d.srv.IssueToken()
	tok = d.tok
	d.mu.Unlock()
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		retry.Body, _ = req.GetBody()
	}
	retry.Header.Set("Authorization", "Bearer "+tok)
	return http.DefaultClient.Do(retry)
}

// ndjson makes n lines of resources of type typ.
func ndjson(typ string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"resourceType":%q,"id":"%s-%d","meta":{"lastUpdated":"2020-01-0%dT00:00:00Z"}}`+"\n", typ, strings.ToLower(typ), i, i%9+1)
	}
	return b.Bytes()
}

// sampleFiles is a small export: two types, one split over two files, an informational error
// file and a deleted file.
func sampleFiles() []bulktest.File {
	return []bulktest.File{
		{Type: "Patient", Body: ndjson("Patient", 3)},
		{Type: "Condition", Body: ndjson("Condition", 40)},
		{Type: "Condition", Body: ndjson("Condition", 2)},
		{Kind: "error", Type: "OperationOutcome", Body: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"warning1"}]}` + "\n")},
		{Kind: "deleted", Type: "Bundle", Body: []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/9"}}]}` + "\n")},
	}
}

// expectedFiles maps each file's local name to its content, in the bulk-data-client layout.
func expectedFiles(files []bulktest.File) map[string][]byte {
	want := map[string][]byte{}
	counters := map[string]int{}
	for _, f := range files {
		prefix := f.Type
		switch f.Kind {
		case "error":
			prefix = "error/OperationOutcome"
		case "deleted":
			prefix = "deleted/Bundle"
		}
		body := f.Body
		if body == nil {
			body = readAll(bulktest.NewSynthetic(f.Type, f.Size))
		}
		want[fmt.Sprintf("%s.%03d.ndjson", prefix, counters[prefix])] = body
		counters[prefix]++
	}
	return want
}

// dirFiles lists DIR's data files (not log.ndjson, not the hidden state folder).
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && rel != "log.ndjson" {
			b, err := os.ReadFile(p)
			got[filepath.ToSlash(rel)] = b
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// assertFiles checks DIR holds exactly the export's files, byte for byte.
func assertFiles(t *testing.T, dir string, files []bulktest.File) {
	t.Helper()
	want, got := expectedFiles(files), dirFiles(t, dir)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !bytes.Equal(got[n], want[n]) {
			t.Errorf("%s: got %d bytes, want %d bytes identical to the server's", n, len(got[n]), len(want[n]))
		}
		delete(got, n)
	}
	for n := range got {
		t.Errorf("unexpected file %s", n)
	}
}

func readAll(s *bulktest.Synthetic) []byte {
	var b bytes.Buffer
	_, _ = b.ReadFrom(s)
	return b.Bytes()
}

// testOptions are options for a test export against srv with an instant clock.
func testOptions(t *testing.T, srv *bulktest.Server, clock Clock) Options {
	return Options{URL: srv.GroupURL(), Dir: t.TempDir(), Types: []string{"Condition", "Patient"},
		Progress: newLogBuffer(), Clock: clock, MaxAttempts: 4}
}

// exportedSample runs the sampleFiles export to its end against a server of its own (closed
// when the test ends) and returns the server and the options, for a rerun.
func exportedSample(t *testing.T) (*bulktest.Server, Options) {
	t.Helper()
	srv := bulktest.New(bulktest.Script{Files: sampleFiles()})
	t.Cleanup(srv.Close)
	opts := testOptions(t, srv, newFakeClock())
	if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
		t.Fatalf("first export: %v", err)
	}
	return srv, opts
}

// logBuffer is a plain-line progress display that keeps what it printed.
type logBuffer struct {
	progress.Display
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func newLogBuffer() logBuffer {
	l := logBuffer{mu: &sync.Mutex{}, buf: &bytes.Buffer{}}
	l.Display = progress.New(progress.Options{Out: lockedWriter{l.mu, l.buf}, Mode: progress.Lines})
	return l
}

// String returns what was printed so far.
func (l logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
