package store

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"cumulus-etl/internal/store/s3test"
)

// newS3 opens a new, empty store on the test server (versitygw): a bucket of its own, under a
// prefix.
func newS3(t *testing.T) Store {
	t.Helper()
	srv := s3test.Shared(t)
	srv.Setenv(t)
	s, err := Open(context.Background(), "s3://"+srv.Bucket(t)+"/out", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Contract(t *testing.T) { testContract(t, newS3) }

func TestS3Locks(t *testing.T) { testLocks(t, newS3) }

// TestS3KMSKeyOnEveryWrite: with Options.S3KMSKey, every request that creates an object (PUT,
// multipart upload, server-side copy of a published table) asks for SSE-KMS with that key. A
// recording proxy in front of the real server sees the requests.
func TestS3KMSKeyOnEveryWrite(t *testing.T) {
	srv := s3test.Shared(t)
	srv.Setenv(t)
	bucket := srv.Bucket(t)
	target, _ := url.Parse(srv.URL)
	var mu sync.Mutex
	var creates, withKMS []string
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the request is signed for the proxy's host
		q := r.In.URL.Query()
		creating := (r.In.Method == http.MethodPut && !q.Has("partNumber")) || (r.In.Method == http.MethodPost && q.Has("uploads"))
		if creating {
			mu.Lock()
			creates = append(creates, r.In.Method+" "+r.In.URL.Path)
			if r.In.Header.Get("X-Amz-Server-Side-Encryption") == "aws:kms" &&
				r.In.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") == "alias/cumulus" {
				withKMS = append(withKMS, r.In.Method+" "+r.In.URL.Path)
			}
			mu.Unlock()
		}
	}})
	defer proxy.Close()
	t.Setenv("AWS_ENDPOINT_URL_S3", proxy.URL)
	s, err := Open(context.Background(), "s3://"+bucket+"/out", Options{S3KMSKey: "alias/cumulus"})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "codebook.json", "{}")
	contractLarge(t, s)
	contractStagePublish(t, s)
	mu.Lock()
	defer mu.Unlock()
	if len(creates) < 5 {
		t.Fatalf("the proxy saw only %d object creations: %q", len(creates), creates)
	}
	for _, c := range creates {
		if !slices.Contains(withKMS, c) {
			t.Errorf("%s was sent without SSE-KMS and the key", c)
		}
	}
}

// TestS3CrashDuringPublish: S3 has no rename, so a run that dies after its publish record is
// written but before the files are all copied leaves the table folder half replaced. ReadDir
// still lists one whole version (the new one, named by the record), and the next Stage finishes
// the replacement.
func TestS3CrashDuringPublish(t *testing.T) {
	ctx := context.Background()
	s := newS3(t).(*S3)
	mustWrite(t, s, "condition/condition.000.ndjson", "old0")
	mustWrite(t, s, "condition/condition.001.ndjson", "old1")
	st, err := s.Stage(ctx, "condition")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"condition.000.ndjson", "condition.001.ndjson"} {
		w, _ := st.Create(f)
		w.Write([]byte("new"))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: the record is written and one file copied, nothing more.
	stage := st.(*s3Stage).stage
	if err := WriteFile(ctx, s, publishName("condition"), fmt.Appendf(nil, `{"stage":%q,"files":["condition.000.ndjson","condition.001.ndjson"]}`, stage), CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "condition/condition.000.ndjson", "new")
	if got := mustRead(t, s, "condition/condition.001.ndjson"); got != "old1" {
		t.Fatalf("setup: %q", got)
	}
	got := readDirNames(t, s, "condition")
	if len(got) != 2 || got["condition.000.ndjson"] != "new" || got["condition.001.ndjson"] != "new" {
		t.Errorf("ReadDir during the broken replacement = %v, want the whole new version", got)
	}
	next, err := s.Stage(ctx, "condition")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Discard()
	if got := mustRead(t, s, "condition/condition.001.ndjson"); got != "new" {
		t.Errorf("after the next Stage: %q, want the replacement finished", got)
	}
	for _, n := range listNames(t, s, "") {
		if strings.HasPrefix(n, ControlDir) {
			t.Errorf("left after recovery: %s", n)
		}
	}
}
