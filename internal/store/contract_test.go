package store

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// The contract of Store, checked against every backend: each backend's test file calls
// testContract with a function making an empty store.

func testContract(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"write is invisible until Commit", contractInvisibleUntilCommit},
		{"Commit replaces, Abort keeps the old object", contractReplaceAndAbort},
		{"IfAbsent never replaces (put-if-absent)", contractIfAbsent},
		{"missing objects wrap ErrNotExist; Delete of one is no error", contractMissing},
		{"OpenRange reads a byte range", contractRange},
		{"List walks a folder at any depth", contractList},
		{"Stage publishes a whole folder at once", contractStagePublish},
		{"Stage.Discard keeps the current folder", contractStageDiscard},
		{"a crashed run's staging is invisible and cleared by the next Stage", contractStageCrash},
		{"a large object streams through", contractLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func mustWrite(t *testing.T, s Store, name, content string) {
	t.Helper()
	if err := WriteFile(context.Background(), s, name, []byte(content), CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, s Store, name string) string {
	t.Helper()
	data, err := ReadFile(context.Background(), s, name, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func listNames(t *testing.T, s Store, dir string) []string {
	t.Helper()
	var names []string
	if err := s.List(context.Background(), dir, func(i Info) error {
		names = append(names, i.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func readDirNames(t *testing.T, s Store, dir string) map[string]string {
	t.Helper()
	infos, err := s.ReadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range infos {
		out[i.Name[strings.LastIndexByte(i.Name, '/')+1:]] = mustRead(t, s, i.Name)
	}
	return out
}

func contractInvisibleUntilCommit(t *testing.T, s Store) {
	ctx := context.Background()
	w, err := s.Create(ctx, "a/b.ndjson", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "a/b.ndjson"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Stat before Commit: %v, want ErrNotExist", err)
	}
	if names := listNames(t, s, "a"); slices.Contains(names, "a/b.ndjson") {
		t.Fatalf("listed before Commit: %q", names) // (a local temporary file has a hidden name)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, s, "a/b.ndjson"); got != "{}\n" {
		t.Errorf("content = %q", got)
	}
	if info, err := s.Stat(ctx, "a/b.ndjson"); err != nil || info.Size != 3 {
		t.Errorf("Stat = %+v, %v", info, err)
	}
}

func contractReplaceAndAbort(t *testing.T, s Store) {
	ctx := context.Background()
	mustWrite(t, s, "f", "old")
	mustWrite(t, s, "f", "new")
	if got := mustRead(t, s, "f"); got != "new" {
		t.Errorf("after a second Commit: %q, want new", got)
	}
	w, err := s.Create(ctx, "f", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if got := mustRead(t, s, "f"); got != "new" {
		t.Errorf("after Abort: %q, want new", got)
	}
}

func contractIfAbsent(t *testing.T, s Store) {
	ctx := context.Background()
	if err := WriteFile(ctx, s, "codebook.json", []byte("first"), CreateOptions{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(ctx, s, "codebook.json", []byte("second"), CreateOptions{IfAbsent: true})
	if !errors.Is(err, ErrExist) {
		t.Fatalf("second put-if-absent: %v, want ErrExist", err)
	}
	if got := mustRead(t, s, "codebook.json"); got != "first" {
		t.Errorf("content = %q, want the first write", got)
	}
}

func contractMissing(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.Open(ctx, "no/such"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Open: %v", err)
	}
	if _, err := s.Stat(ctx, "no/such"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat: %v", err)
	}
	if err := s.Delete(ctx, "no/such"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if names := listNames(t, s, "no"); len(names) != 0 {
		t.Errorf("List of a missing folder: %q", names)
	}
	if infos, err := s.ReadDir(ctx, "no"); err != nil || len(infos) != 0 {
		t.Errorf("ReadDir of a missing folder: %v, %v", infos, err)
	}
	mustWrite(t, s, "x", "1")
	if err := s.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "x"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat after Delete: %v", err)
	}
}

func contractRange(t *testing.T, s Store) {
	mustWrite(t, s, "p.parquet", "0123456789")
	for _, tt := range []struct {
		off, n int64
		want   string
	}{{0, -1, "0123456789"}, {6, 4, "6789"}, {2, 3, "234"}, {8, -1, "89"}, {8, 100, "89"}} {
		r, err := s.OpenRange(context.Background(), "p.parquet", tt.off, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != tt.want {
			t.Errorf("OpenRange(%d, %d) = %q, %v; want %q", tt.off, tt.n, got, err, tt.want)
		}
	}
}

func contractList(t *testing.T, s Store) {
	for _, n := range []string{"in/Patient.ndjson", "in/deleted/d.ndjson", "in/sub/x/Condition.ndjson.gz", "inx/other", "top"} {
		mustWrite(t, s, n, n)
	}
	want := []string{"in/Patient.ndjson", "in/deleted/d.ndjson", "in/sub/x/Condition.ndjson.gz"}
	if got := listNames(t, s, "in"); !slices.Equal(got, want) {
		t.Errorf("List(in) = %q, want %q", got, want)
	}
	if got := listNames(t, s, ""); len(got) != 5 {
		t.Errorf("List of the whole store = %q", got)
	}
	stop := errors.New("stop")
	if err := s.List(context.Background(), "", func(Info) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("List returned %v, want fn's error", err)
	}
}

func contractStagePublish(t *testing.T, s Store) {
	ctx := context.Background()
	mustWrite(t, s, "condition/condition.000.ndjson", "old0")
	mustWrite(t, s, "condition/condition.001.ndjson", "old1")
	st, err := s.Stage(ctx, "condition")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	w, err := st.Create("condition.000.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("new0"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := st.Open("condition.000.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "new0" {
		t.Errorf("Stage.Open = %q", got)
	}
	r.Close()
	if got := readDirNames(t, s, "condition"); got["condition.000.ndjson"] != "old0" || len(got) != 2 {
		t.Errorf("ReadDir before Publish = %v, want the old version", got)
	}
	if err := st.Publish(); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, s, "condition"); len(got) != 1 || got["condition.000.ndjson"] != "new0" {
		t.Errorf("ReadDir after Publish = %v, want only the new file", got)
	}
	if err := st.Discard(); err != nil {
		t.Errorf("Discard after Publish: %v", err)
	}
}

func contractStageDiscard(t *testing.T, s Store) {
	mustWrite(t, s, "t/t.000.ndjson", "old")
	st, err := s.Stage(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := st.Create("t.000.ndjson")
	w.Write([]byte("new"))
	w.Commit()
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, s, "t"); len(got) != 1 || got["t.000.ndjson"] != "old" {
		t.Errorf("ReadDir after Discard = %v", got)
	}
	if names := listNames(t, s, ""); len(names) != 1 {
		t.Errorf("store after Discard holds %q, want only the old table file", names)
	}
}

// contractStageCrash: a run that dies while staging (nothing is called after its writes) leaves
// nothing a table reader sees, and the next run's Stage clears it (issue 10 item 8).
func contractStageCrash(t *testing.T, s Store) {
	ctx := context.Background()
	mustWrite(t, s, "observation/observation.000.ndjson", "old")
	dead, err := s.Stage(ctx, "observation")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := dead.Create("observation.000.ndjson")
	w.Write([]byte("partial"))
	w.Commit()
	for _, n := range listNames(t, s, "") {
		if !strings.HasPrefix(n, ControlDir+"/") && n != "observation/observation.000.ndjson" {
			t.Errorf("a staged file is visible outside %s/: %s", ControlDir, n)
		}
	}
	if got := readDirNames(t, s, "observation"); got["observation.000.ndjson"] != "old" {
		t.Errorf("ReadDir during the dead run's staging = %v", got)
	}
	next, err := s.Stage(ctx, "observation")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Discard()
	for _, n := range listNames(t, s, "") {
		if n != "observation/observation.000.ndjson" && !strings.HasPrefix(n, ControlDir+"/locks/") {
			t.Errorf("left after the next Stage: %s", n)
		}
	}
}

func contractLarge(t *testing.T, s Store) {
	ctx := context.Background()
	w, err := s.Create(ctx, "big", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB
	const chunks = 400                                        // 25 MiB: more than one multipart part
	for range chunks {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != chunks*int64(len(chunk)) {
		t.Errorf("read back %d bytes, %v; want %d", n, err, chunks*len(chunk))
	}
}
