package fhir

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestIssue12ConnectionsAreKeptForReuse: a client downloading 5 files at a time, over and over,
// opens 5 connections to the host, not a new one for most files (Go keeps only 2 idle ones per
// host unless told; on a real server each new connection is a TLS handshake).
func TestIssue12ConnectionsAreKeptForReuse(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"resourceType":"Patient"}` + "\n"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	const parallel = 5
	rt, err := baseTransport(Options{MaxConnsPerHost: parallel})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: rt}
	for range 20 {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	if n := opened.Load(); n > parallel {
		t.Errorf("%d connections opened for 100 requests %d at a time, want at most %d", n, parallel, parallel)
	}
}
