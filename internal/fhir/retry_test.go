package fhir_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestRetries_ST04_ST05_EC01_EC21 checks which answers are retried and how long the client
// waits: Retry-After in seconds or as an HTTP-date, capped and floored; otherwise exponential
// backoff (2 s, 4 s, ... with jitter made 0 by Rand = 0.5).
func TestRetries_ST04_ST05_EC01_EC21(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		faults    []http.HandlerFunc
		wantWaits []time.Duration
		wantErr   int // status of the HTTPError, 0 for success
	}{
		{"retry-after seconds", []http.HandlerFunc{fhirtest.RetryAfter(429, "7")}, []time.Duration{7 * time.Second}, 0},
		{"retry-after HTTP-date", []http.HandlerFunc{fhirtest.RetryAfter(503, now.Add(90*time.Second).Format(http.TimeFormat))}, []time.Duration{90 * time.Second}, 0},
		{"retry-after capped", []http.HandlerFunc{fhirtest.RetryAfter(503, "18000")}, []time.Duration{5 * time.Minute}, 0},
		{"retry-after in the past floored", []http.HandlerFunc{fhirtest.RetryAfter(503, "Tue, 01 Jan 2030 00:00:00 GMT")}, []time.Duration{time.Second}, 0},
		{"garbage retry-after uses backoff", []http.HandlerFunc{fhirtest.RetryAfter(503, "-5")}, []time.Duration{2 * time.Second}, 0},
		{"5xx burst backs off", []http.HandlerFunc{fhirtest.Status(500), fhirtest.Status(502), fhirtest.Status(504), fhirtest.Status(408)},
			[]time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}, 0},
		{"attempts run out", slices.Repeat([]http.HandlerFunc{fhirtest.Outcome(503, "transient", "busy")}, 6),
			[]time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second}, 503},
		{"400 not retried", []http.HandlerFunc{fhirtest.Outcome(400, "invalid", "bad")}, nil, 400},
		{"404 not retried", []http.HandlerFunc{fhirtest.Status(404)}, nil, 404},
		{"501 not retried", []http.HandlerFunc{fhirtest.Status(501)}, nil, 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fhirtest.NewServer(t, fhirtest.WithClock(func() time.Time { return now }))
			s.Handle("GET Patient/{id}", (&okRoute{}).handle)
			opts := s.Options("Patient")
			opts.Rand = func() float64 { return 0.5 }
			c := newClient(t, s, opts)
			s.Fail("Patient/1", tt.faults...)
			_, err := get(context.Background(), c, "Patient/1")
			var herr *fhir.HTTPError
			switch {
			case tt.wantErr == 0 && err != nil:
				t.Fatal(err)
			case tt.wantErr != 0 && (!errors.As(err, &herr) || herr.StatusCode != tt.wantErr):
				t.Fatalf("err = %v, want status %d", err, tt.wantErr)
			}
			if got := s.Waits(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

// TestRetries_ConnectionReset_DL06: a connection closed without an answer is retried, with a
// replayed body. (A POST, because Go's transport itself silently retries an idempotent request
// once on a reused connection.)
func TestRetries_ConnectionReset_DL06(t *testing.T) {
	s := fhirtest.NewServer(t)
	var bodies []string
	s.Handle("POST Group/{id}/$export", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.WriteHeader(http.StatusAccepted)
	})
	opts := s.Options("Patient")
	opts.Rand = func() float64 { return 0.5 }
	c := newClient(t, s, opts)
	s.Fail("Group/g/$export", fhirtest.Reset())
	req, _ := http.NewRequest(http.MethodPost, "Group/g/$export", strings.NewReader("{}"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !slices.Equal(s.Waits(), []time.Duration{2 * time.Second}) || !slices.Equal(bodies, []string{"{}"}) {
		t.Errorf("waits %v, bodies %q", s.Waits(), bodies)
	}
}

// TestNoRetry_ST09: under NoRetry a retryable status comes back at once, as the response itself
// (the caller runs its own wait loop, e.g. status polling or a kick-off answered 429), with its
// Retry-After header available.
func TestNoRetry_ST09(t *testing.T) {
	s := fhirtest.NewServer(t)
	c := newClient(t, s, s.Options("Patient"))
	s.Fail("status/1", fhirtest.RetryAfter(503, "120"))
	req, _ := http.NewRequestWithContext(fhir.NoRetry(context.Background()), http.MethodGet, "status/1", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "120" || len(s.Waits()) != 0 || s.Requests("status/1") != 1 {
		t.Errorf("status %d, waits %v, requests %d", resp.StatusCode, s.Waits(), s.Requests("status/1"))
	}
}

// TestErrorMessage_OperationOutcome: a non-2xx answer reads like Cumulus ETL's, with the
// OperationOutcome text, and secrets in the URL's query are redacted.
func TestErrorMessage_OperationOutcome(t *testing.T) {
	s := fhirtest.NewServer(t)
	c := newClient(t, s, s.Options("Patient"))
	s.Fail("Patient/1", fhirtest.Outcome(403, "forbidden", "You may not read this"))
	_, err := get(context.Background(), c, "Patient/1?sig=SECRET&_type=Patient")
	want := `An error occurred when connecting to "` + s.BaseURL + `Patient/1?sig=REDACTED&_type=Patient": [403] You may not read this`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestRetries_HTTP2StreamReset_DL06: over HTTP/2 (Epic, Oracle Health) a server that resets a
// stream (RST_STREAM INTERNAL_ERROR, as a crashing handler or a proxy does) gives a transport
// error that is retried like a connection reset over HTTP/1.1.
func TestRetries_HTTP2StreamReset_DL06(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 { // the first is /metadata
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write([]byte(`{"resourceType":"Patient"}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	var waits []time.Duration
	c, err := fhir.New(context.Background(), fhir.Options{BaseURL: srv.URL, HTTPClient: srv.Client(),
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	body, err := get(context.Background(), c, "Patient/1")
	if err != nil || body != `{"resourceType":"Patient"}` || len(waits) != 1 {
		t.Errorf("body %q, err %v, waits %v", body, err, waits)
	}
}

// TestRetryObserver_ST05: a caller that asked with WithRetryObserver hears of every retry the
// client makes, with the status and the wait (Retry-After), so it can slow down its own work.
func TestRetryObserver_ST05(t *testing.T) {
	s := fhirtest.NewServer(t)
	s.Handle("GET Binary/{id}", (&okRoute{}).handle)
	c := newClient(t, s, s.Options("Binary"))
	s.Fail("Binary/1", fhirtest.RetryAfter(429, "3"), fhirtest.Status(503))
	type seen struct {
		status int
		wait   time.Duration
	}
	var got []seen
	ctx := fhir.WithRetryObserver(context.Background(), func(status int, wait time.Duration) {
		got = append(got, seen{status, wait})
	})
	if _, err := get(ctx, c, "Binary/1"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (seen{429, 3 * time.Second}) || got[1].status != 503 {
		t.Errorf("observed %v, want a 429 with a 3s wait, then a 503", got)
	}
}
