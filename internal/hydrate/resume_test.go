package hydrate_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"cumulus-etl/internal/hydrate"
	"cumulus-etl/internal/store"
)

// notesFolder writes n DocumentReferences whose notes the server holds, and returns the file.
func notesFolder(t *testing.T, dir string, n int, addBinary func(id string, body []byte)) string {
	t.Helper()
	var ls []string
	for i := range n {
		id := fmt.Sprintf("n%d", i)
		addBinary(id, []byte("note number "+id))
		ls = append(ls, docRef(id, "current", `{"contentType":"text/plain","url":"Binary/`+id+`"}`))
	}
	return writeFile(t, dir, "DocumentReference.000.ndjson", ls...)
}

// TestInline_RerunFetchesNothing (issue 9 item 2): a second run downloads nothing and leaves
// the file byte for byte as the first run wrote it.
func TestInline_RerunFetchesNothing(t *testing.T) {
	s, c := setup(t)
	dir := t.TempDir()
	path := notesFolder(t, dir, 20, func(id string, b []byte) { s.AddBinary(id, "text/plain", b) })
	first := run(t, s, c, dir, nil, hydrate.TaskDocInline)
	if n := first.Tasks[0].Inlined.Load(); n != 20 {
		t.Fatalf("first run inlined %d, want 20", n)
	}
	before, _ := os.ReadFile(path)
	requests := s.Requests("Binary/n3")
	second := run(t, s, c, dir, nil, hydrate.TaskDocInline)
	after, _ := os.ReadFile(path)
	if second.Tasks[0].AlreadyDone.Load() != 20 || second.Tasks[0].Inlined.Load() != 0 || !bytes.Equal(before, after) || s.Requests("Binary/n3") != requests {
		t.Errorf("rerun: done %d, inlined %d, file same %v, requests %d→%d", second.Tasks[0].AlreadyDone.Load(),
			second.Tasks[0].Inlined.Load(), bytes.Equal(before, after), requests, s.Requests("Binary/n3"))
	}
	if _, err := os.Stat(filepath.Join(dir, ".cumulus-hydrate", "inline", "DocumentReference.000.ndjson.journal")); !os.IsNotExist(err) {
		t.Errorf("journal left after a finished file: %v", err)
	}
}

// TestInline_InterruptedRunResumes (issue 9 item 2): a run stopped midway leaves the file as it
// was, keeps what it downloaded in the journal, and the next run downloads only the rest.
func TestInline_InterruptedRunResumes(t *testing.T) {
	s, c := setup(t)
	dir := t.TempDir()
	const n = 40
	path := notesFolder(t, dir, n, func(id string, b []byte) { s.AddBinary(id, "text/plain", b) })
	original, _ := os.ReadFile(path)
	ctx, cancel := context.WithCancel(context.Background())
	var served atomic.Int32
	counting := doerFunc(func(r *http.Request) (*http.Response, error) {
		if served.Add(1) == 15 {
			cancel()
		}
		return c.Do(r)
	})
	_, err := hydrate.Run(ctx, hydrate.Options{Dir: dir, Client: counting, Base: s.BaseURL, MaxConcurrency: 4}, []string{hydrate.TaskDocInline})
	if err == nil {
		t.Fatal("the interrupted run did not fail")
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, original) {
		t.Fatal("an interrupted run changed the file")
	}
	total := func() (sum int) {
		for i := range n {
			sum += s.Requests(fmt.Sprintf("Binary/n%d", i))
		}
		return sum
	}
	firstRequests := total()
	rep := run(t, s, c, dir, nil, hydrate.TaskDocInline)
	if rep.Tasks[0].Inlined.Load() != n || rep.Failed() != 0 {
		t.Fatalf("resumed run: inlined %d, failed %d", rep.Tasks[0].Inlined.Load(), rep.Failed())
	}
	// Requests cut off by the interruption (at most MaxConcurrency) may be sent again; nothing else.
	if extra := total() - n; extra < 0 || extra > 4 {
		t.Errorf("%d requests in all for %d notes (%d in the first run): %d sent twice", total(), n, firstRequests, extra)
	}
	for i, l := range lines(t, path) {
		if got := attachmentOf(l).Get("data").String(); got != b64(fmt.Sprintf("note number n%d", i)) {
			t.Errorf("line %d: data %q", i+1, got)
		}
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestInline_KeepsTheRestOfTheFile: only attachments change; numbers, key order, gzip, other
// lines, entered-in-error notes and file links stay as they were.
func TestInline_KeepsTheRestOfTheFile(t *testing.T) {
	s, c := setup(t)
	s.AddBinary("a", "text/plain", []byte("hello"))
	dir := t.TempDir()
	keep := `{"resourceType":"DocumentReference","id":"x","z":1.50,"a":[1e3],"status":"current","content":[{"format":{"code":"f"},"attachment":{"url":"Binary/a","contentType":"text/plain","title":"T"}}],"last":true}`
	wrong := docRef("e", "entered-in-error", `{"contentType":"text/plain","url":"Binary/a"}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(keep + "\n" + wrong + "\nnot json\n"))
	zw.Close()
	real := filepath.Join(dir, "export", "DocumentReference.000.ndjson.gz")
	os.MkdirAll(filepath.Dir(real), 0o700)
	os.WriteFile(real, gz.Bytes(), 0o640)
	link := filepath.Join(dir, "DocumentReference.ndjson.gz")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	rep := run(t, s, c, dir, nil, hydrate.TaskDocInline)
	st := rep.Tasks[0]
	if st.Inlined.Load() != 1 || st.SkippedStatus.Load() != 1 || st.Failed.Load() != 1 {
		t.Errorf("inlined %d, skipped status %d, failed %d (the line that is not JSON)", st.Inlined.Load(), st.SkippedStatus.Load(), st.Failed.Load())
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	f, _ := os.Open(real)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("no longer gzip: %v", err)
	}
	var out bytes.Buffer
	out.ReadFrom(zr)
	want := strings.Replace(keep, `"title":"T"}`, `"title":"T","data":"aGVsbG8=","size":5,"hash":"qvTGHdzF6KLavt4PO0gs2a6pQ00="}`, 1)
	want = strings.Replace(want, `"contentType":"text/plain"`, `"contentType":"text/plain; charset=utf-8"`, 1)
	if got := out.String(); got != want+"\n"+wrong+"\nnot json\n" {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRun_OneRunPerFolder: a second run on a folder another live run is hydrating is refused
// (both would rewrite the same files and journals).
func TestRun_OneRunPerFolder(t *testing.T) {
	s, c := setup(t)
	dir := t.TempDir()
	notesFolder(t, dir, 1, func(id string, b []byte) { s.AddBinary(id, "text/plain", b) })
	held, err := store.Acquire(context.Background(), store.NewLocal(dir, store.Options{}), "hydrate", store.LockOptions{Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = hydrate.Run(context.Background(), hydrate.Options{Dir: dir, Client: c, Base: s.BaseURL}, nil)
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("err %v, want ErrLocked", err)
	}
	held.Release(context.Background())
	if rep := run(t, s, c, dir, nil, hydrate.TaskDocInline); rep.Tasks[0].Inlined.Load() != 1 {
		t.Error("the run after the release did not inline")
	}
}
