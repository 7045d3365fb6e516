package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/progress"
)

// TestKO21KickoffURLMerging checks the exact kick-off URLs Cumulus ETL builds (inventory §3.2):
// comma-joined lists merged into the URL's own query, _since/_until overriding, values encoded once.
func TestKO21KickoffURLMerging(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"base URL gets $export and _type", Options{URL: "http://a.com", Types: []string{"Patient"}}, "http://a.com/$export?_type=Patient"},
		{"KO-21 URL params merged, since/until override",
			Options{URL: "http://a.com/$export?_type=Condition&_since=2000", Types: []string{"Patient"}, Since: "2020", Until: "2024"},
			"http://a.com/$export?_type=Condition%2CPatient&_since=2020&_until=2024"},
		{"unknown URL params kept first", Options{URL: "http://a.com/$export?_elements=birthDate", Types: []string{"Patient"}},
			"http://a.com/$export?_elements=birthDate&_type=Patient"},
		{"KO-23 type filters comma-joined and encoded once",
			Options{URL: "http://a.com", TypeFilters: []string{"Patient?active=false", "Patient?active=true"}},
			"http://a.com/$export?_typeFilter=Patient%3Factive%3Dfalse%2CPatient%3Factive%3Dtrue"},
		{"comma inside a _typeFilter: %2C, so it does not split the filter (SMART Fetch)",
			Options{URL: "http://a.com", TypeFilters: []string{"Observation?category=laboratory,exam", "Condition?clinical-status=active"}},
			"http://a.com/$export?_typeFilter=Observation%3Fcategory%3Dlaboratory%252Cexam%2CCondition%3Fclinical-status%3Dactive"},
		{"KO-22 plus in an instant is encoded", Options{URL: "https://h/fhir/Group/G/", Types: []string{"Condition", "Patient"}, Since: "2000-01-01T00:00:00+00.00"},
			"https://h/fhir/Group/G/$export?_type=Condition%2CPatient&_since=2000-01-01T00%3A00%3A00%2B00.00"},
		{"repeated URL _type condensed, duplicates dropped", Options{URL: "http://a.com/Patient/$export?_type=A&_type=B", Types: []string{"B"}},
			"http://a.com/Patient/$export?_type=A%2CB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := planKickoff(tc.opts)
			if err != nil || k.url != tc.want || k.post {
				t.Errorf("got %q post=%v err=%v, want %q", k.url, k.post, err, tc.want)
			}
		})
	}
}

// TestKO15PatientForcesPostAndKO04RejectsSystemLevel checks patient handling.
func TestKO15PatientForcesPostAndKO04RejectsSystemLevel(t *testing.T) {
	k, err := planKickoff(Options{URL: "https://h/fhir/Group/G?_type=Patient", Patients: []string{"123"}, Since: "2020-01-01T00:00:00Z"})
	if err != nil || !k.post || k.url != "https://h/fhir/Group/G/$export" {
		t.Fatalf("got %+v, %v", k, err)
	}
	var body struct {
		ResourceType string           `json:"resourceType"`
		Parameter    []map[string]any `json:"parameter"`
	}
	if err := json.Unmarshal(k.params.parametersBody(), &body); err != nil || body.ResourceType != "Parameters" || len(body.Parameter) != 3 {
		t.Fatalf("Parameters body %+v, %v", body, err)
	}
	if ref, _ := body.Parameter[2]["valueReference"].(map[string]any); ref["reference"] != "Patient/123" {
		t.Errorf("patient parameter %v", body.Parameter[2])
	}
	if body.Parameter[1]["valueInstant"] != "2020-01-01T00:00:00Z" {
		t.Errorf("_since parameter %v", body.Parameter[1])
	}
	if _, err := planKickoff(Options{URL: "https://h/fhir", Patients: []string{"1"}}); err == nil {
		t.Error("KO-04: system-level export with patient was accepted")
	}
}

// TestParseExportURL checks FHIR base and Group extraction.
func TestParseExportURL(t *testing.T) {
	cases := []struct{ in, base, group string }{
		{"https://host/root/Group/MyGroup/", "https://host/root", "MyGroup"},
		{"https://host/root/Group/MyGroup/$export?_type=Patient", "https://host/root", "MyGroup"},
		{"http://example.invalid/root/Group/xxx/$export?_type=Patient", "http://example.invalid/root", "xxx"},
		{"https://host/fhir/Patient/$export", "https://host/fhir", ""},
		{"https://host/fhir", "https://host/fhir", ""},
		{"https://Group/MyGroup", "https://Group/MyGroup", ""},
	}
	for _, tc := range cases {
		base, group, err := ParseExportURL(tc.in)
		if err != nil || base != tc.base || group != tc.group {
			t.Errorf("ParseExportURL(%q) = %q, %q, %v; want %q, %q", tc.in, base, group, err, tc.base, tc.group)
		}
	}
	if _, _, err := ParseExportURL("//host"); err == nil {
		t.Error("//host accepted")
	}
}

// TestST04RetryAfterFloor checks what the export adds to fhir.ParseRetryAfter (which has the
// format cases, ST-05): waits of zero or in the past are floored at one second (ST-04, EC-02).
func TestST04RetryAfterFloor(t *testing.T) {
	now := time.Date(1994, 11, 6, 8, 49, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{"0", time.Second, true},
		{"Sun, 06 Nov 1994 08:49:37 GMT", 37 * time.Second, true},
		{"Fri, 31 Dec 1993 23:59:59 GMT", time.Second, true},
		{"abc", 0, false},
		{"", 0, false},
	}
	w := newWaiter(&fakeClock{now: now}, now, time.Hour, progress.Nop)
	for _, tc := range cases {
		got, ok := w.retryAfter(http.Header{"Retry-After": {tc.in}})
		if got != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q: got %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestDL10LineChecker checks accepted ndjson variants (EC-17) and rejected lines (DL-11, DL-13).
func TestDL10LineChecker(t *testing.T) {
	cases := []struct {
		name, in string
		count    int64
		wantErr  string
	}{
		{"EC-17 CRLF, blank lines, BOM, no final newline", "\xEF\xBB\xBF{\"resourceType\":\"Patient\"}\r\n\n  \n{\"id\":\"x\",\"resourceType\":\"Patient\"}", 2, ""},
		{"DL-10 blanks around colons and commas (a server's pretty separators)", "{\"resourceType\" : \"Patient\" , \"id\":\t\"x\"}\n{ \"id\": \"y\", \"resourceType\": \"Patient\" }\n", 2, ""},
		{"nested resourceType does not count", `{"contained":[{"resourceType":"Patient"}],"resourceType":"Patient","a":"\"}"}` + "\n", 1, ""},
		{"DL-13 wrong type", `{"resourceType":"Condition"}` + "\n", 0, `line 1: resourceType "Condition"`},
		{"EC-16 HTML", "<html>\n", 0, "line 1: not a JSON object"},
		{"EC-16 truncated object", "{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Pat\n", 0, "line 2: truncated"},
		{"array is not an object", "[1]\n", 0, "not a JSON object"},
		{"no resourceType", "{\"id\":\"1\"}\n", 0, "no resourceType"},
		{"garbage after object", "{\"resourceType\":\"Patient\"} x\n", 0, "after the JSON object"},
		{"unbalanced", "{\"resourceType\":\"Patient\"]\n", 0, "unbalanced"},
		{"line over the limit", `{"resourceType":"Patient","pad":"` + strings.Repeat("x", 100) + "\"}\n", 0, "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newLineChecker("Patient", 80)
			_, err := c.Write([]byte(tc.in))
			if err == nil {
				err = c.Close()
			}
			if tc.wantErr == "" && (err != nil || c.resources != tc.count) {
				t.Fatalf("err %v, resources %d; want nil, %d", err, c.resources, tc.count)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestAIMDLimiter checks the per-host limit halves on throttling and grows back on success.
func TestAIMDLimiter(t *testing.T) {
	l := newHostLimiter(8, 10)
	ctx := context.Background()
	_ = l.acquire(ctx)
	l.release(true)
	if l.current() != 4 {
		t.Fatalf("after a 429 limit %d, want 4", l.current())
	}
	for range 4 {
		_ = l.acquire(ctx)
		l.release(false)
	}
	if l.current() != 5 {
		t.Fatalf("after 4 successes limit %d, want 5", l.current())
	}
	for range 3 {
		_ = l.acquire(ctx)
		l.release(true)
	}
	if l.current() != 1 {
		t.Fatalf("limit %d, want floor 1", l.current())
	}
}

// TestKO36ResumeKeepsCompletedFiles: a run that fails mid-way leaves the status URL and the
// journal; rerunning re-attaches without a new kick-off and skips completed files (EC-43).
func TestKO36ResumeKeepsCompletedFiles(t *testing.T) {
	srv, opts := halfFinishedExport(t)
	if srv.Requests("delete") != 0 {
		t.Fatal("DELETE sent after a failed run")
	}
	res, err := Export(context.Background(), http.DefaultClient, opts)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	assertFiles(t, opts.Dir, sampleFiles())
	if srv.Requests("kickoff") != 1 || srv.FullDownloads(0) != 1 || srv.FullDownloads(1) != 1 || res.Files != 5 {
		t.Errorf("kick-offs %d, file 0 sent %d times, file 1 sent %d times, files %d; want 1, 1, 1, 5",
			srv.Requests("kickoff"), srv.FullDownloads(0), srv.FullDownloads(1), res.Files)
	}
	// A third run finds the export complete and touches nothing.
	if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil || srv.Requests("status") != 2 || srv.Requests("delete") != 1 {
		t.Errorf("third run: %v; status %d, deletes %d", err, srv.Requests("status"), srv.Requests("delete"))
	}
}

// halfFinishedExport runs an export whose third file keeps failing, so the run fails with the
// other four files done, and returns the server and options for a rerun.
func halfFinishedExport(t *testing.T) (*bulktest.Server, Options) {
	t.Helper()
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(), FileFaults: map[int][]bulktest.Fault{
		2: repeatFault(bulktest.ServerError, 4)}})
	t.Cleanup(srv.Close)
	opts := testOptions(t, srv, newFakeClock())
	opts.Concurrency, opts.MaxConcurrency = 1, 1
	if _, err := Export(context.Background(), http.DefaultClient, opts); !errors.Is(err, ErrExportFailed) {
		t.Fatalf("first run: %v, want a failure", err)
	}
	return srv, opts
}

func repeatFault(f bulktest.Fault, n int) []bulktest.Fault {
	out := make([]bulktest.Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// TestST20Cancel checks --cancel deletes the saved export and forgets it.
func TestST20Cancel(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles(), StatusReplies: repeat(bulktest.Reply{Status: 500, Body: oo("fatal", "processing", "x")}, 1)})
	defer srv.Close()
	opts := testOptions(t, srv, newFakeClock())
	_, _ = Export(context.Background(), http.DefaultClient, opts)
	if err := Cancel(context.Background(), http.DefaultClient, opts.Dir, ""); err != nil || srv.Requests("delete") != 1 {
		t.Fatalf("Cancel: %v, deletes %d", err, srv.Requests("delete"))
	}
	if _, err := os.Stat(filepath.Join(stateDir(opts.Dir), "state.json")); !os.IsNotExist(err) {
		t.Errorf("state still saved after cancel: %v", err)
	}
	if err := Cancel(context.Background(), http.DefaultClient, t.TempDir(), ""); !errors.Is(err, ErrNoExportToCancel) {
		t.Errorf("cancel with nothing saved: %v", err)
	}
}

// TestLogNdjsonEvents checks DIR/log.ndjson has the bulk-data-client events Cumulus reads.
func TestLogNdjsonEvents(t *testing.T) {
	srv := bulktest.New(bulktest.Script{Files: sampleFiles()[:1]})
	defer srv.Close()
	opts := testOptions(t, srv, newFakeClock())
	opts.Types = []string{"Patient"}
	if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(opts.Dir, "log.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row struct {
			ExportID    string         `json:"exportId"`
			EventID     string         `json:"eventId"`
			EventDetail map[string]any `json:"eventDetail"`
			Client      string         `json:"_client"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil || row.ExportID != srv.URL+"/status" {
			t.Fatalf("row %s: %v", line, err)
		}
		if row.EventID == "kickoff" && (row.Client != "cumulus-etl" || row.EventDetail["exportUrl"] != srv.GroupURL()+"/$export?_type=Patient" ||
			row.EventDetail["softwareName"] != "Test" || row.EventDetail["fhirVersion"] != "4.0.1") {
			t.Errorf("kickoff row %s", line)
		}
		events = append(events, row.EventID)
	}
	want := "kickoff status_complete status_page_complete download_request download_complete export_complete"
	if strings.Join(events, " ") != want {
		t.Errorf("events %v, want %s", events, want)
	}
}

// sliceRecorder keeps what each Write got.
type sliceRecorder struct{ slices [][]byte }

func (r *sliceRecorder) Write(p []byte) (int, error) {
	r.slices = append(r.slices, bytes.Clone(p))
	return len(p), nil
}

// TestIssue12ChecksumAndCheckerTakeTheSameSlicesInTurn: inTurn hands both writers the same bytes
// in the same slices, each ending at a newline but the last, so the line checker still sees
// whole lines; a line longer than a slice is one slice.
func TestIssue12ChecksumAndCheckerTakeTheSameSlicesInTurn(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 3*inTurnSlice)
	cases := []struct {
		name string
		data []byte
	}{
		{"short lines", bytes.Repeat([]byte(`{"resourceType":"Patient"}`+"\n"), 10000)},
		{"a line longer than a slice", append(append([]byte("a\n"), long...), "\nb\n"...)},
		{"no final newline", append(bytes.Repeat([]byte("line\n"), 30000), "end"...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a, b sliceRecorder
			if n, err := (inTurn{&a, &b}).Write(tc.data); err != nil || n != len(tc.data) {
				t.Fatalf("wrote %d, %v", n, err)
			}
			if len(a.slices) != len(b.slices) || !bytes.Equal(bytes.Join(a.slices, nil), tc.data) || !bytes.Equal(bytes.Join(b.slices, nil), tc.data) {
				t.Fatal("the writers did not get the same bytes, all of them, in the same slices")
			}
			for i, s := range a.slices[:len(a.slices)-1] {
				if !bytes.Equal(s, b.slices[i]) || s[len(s)-1] != '\n' {
					t.Fatalf("slice %d of %d bytes does not end at a newline, or differs", i, len(s))
				}
			}
		})
	}
}
