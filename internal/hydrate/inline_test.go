package hydrate_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/fhir/fhirtest"
	"cumulus-etl/internal/hydrate"
	"cumulus-etl/internal/notes"
)

// TestInline_ServerFaults (issue 9 item 2): each note a real EHR can serve, or fail to serve,
// ends up inlined as the server sent it, or left as a link and counted with its reason; one
// failure never stops the others.
func TestInline_ServerFaults(t *testing.T) {
	html := `<html><head><script>var x="SCRIPT";</script></head><body><p>Visit note</p><table><tr><td>BP</td><td>120/80</td></tr></table></body></html>`
	tests := []struct {
		name       string
		attachment string // {URL} and {OTHER} are replaced by the server's and the other origin's URLs
		binary     *[3]string
		faults     []http.HandlerFunc
		opts       func(*hydrate.Options)
		want       string // "inlined", "failed", "too large", "skipped type", "skipped status", "done", "relative"
		wantType   string // contentType after inlining
		wantBody   string
		wantReason string
		wantText   string
		wantWaits  int // retries the FHIR client waited out
	}{
		{name: "relative URL, UTF-8", attachment: `{"contentType":"text/plain","url":"Binary/a"}`,
			binary: &[3]string{"a", "text/plain; charset=utf-8", "café note"}, want: "inlined",
			wantType: "text/plain; charset=utf-8", wantBody: "café note", wantText: "café note"},
		{name: "absolute URL on the FHIR server", attachment: `{"contentType":"text/plain","url":"{URL}Binary/a"}`,
			binary: &[3]string{"a", "text/plain", "plain"}, want: "inlined", wantType: "text/plain; charset=utf-8", wantBody: "plain"},
		{name: "latin-1 labelled", attachment: `{"contentType":"text/plain","url":"Binary/a"}`,
			binary: &[3]string{"a", "text/plain; charset=ISO-8859-1", "caf\xe9"}, want: "inlined",
			wantType: "text/plain; charset=iso-8859-1", wantBody: "caf\xe9", wantText: "café"},
		{name: "latin-1 unlabelled", attachment: `{"contentType":"text/plain","url":"Binary/a"}`,
			binary: &[3]string{"a", "text/plain", "na\xefve"}, want: "inlined", wantType: "text/plain; charset=windows-1252", wantText: "naïve"},
		{name: "HTML with scripts and tables", attachment: `{"contentType":"text/html","url":"Binary/a"}`,
			binary: &[3]string{"a", "text/html; charset=utf-8", html}, want: "inlined", wantType: "text/html; charset=utf-8", wantBody: html,
			wantText: "Visit note\n\n| BP | 120/80 |\n|----|--------|"},
		{name: "a PDF gets no charset", attachment: `{"contentType":"application/pdf","url":"Binary/a"}`,
			binary: &[3]string{"a", "application/pdf", "%PDF-1.5 \xe2\xe3\xcf\xd3"}, opts: func(o *hydrate.Options) { o.MediaTypes = []string{"application/pdf", "text/plain"} },
			want: "inlined", wantType: "application/pdf", wantBody: "%PDF-1.5 \xe2\xe3\xcf\xd3"},
		{name: "an image keeps the charset its server names", attachment: `{"contentType":"image/jpeg","url":"Binary/a"}`,
			binary: &[3]string{"a", "image/jpeg; charset=binary", "\xff\xd8\xff"}, opts: func(o *hydrate.Options) { o.MediaTypes = []string{"image/jpeg", "text/plain"} },
			want: "inlined", wantType: "image/jpeg; charset=binary", wantBody: "\xff\xd8\xff"},
		{name: "404", attachment: `{"contentType":"text/plain","url":"Binary/missing"}`, binary: &[3]string{"a", "text/plain", "x"},
			want: "failed", wantReason: "HTTP 404"},
		{name: "410", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", "x"},
			faults: []http.HandlerFunc{fhirtest.Outcome(410, "deleted", "gone for good")}, want: "failed", wantReason: "HTTP 410 gone for good"},
		{name: "wrong Content-Type", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", "x"},
			faults: []http.HandlerFunc{fhirtest.Answer("application/fhir+json", `{"resourceType":"OperationOutcome"}`)},
			want:   "failed", wantReason: "asked for text/plain, the server answered application/fhir+json"},
		{name: "429 with Retry-After", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", "late"},
			faults: []http.HandlerFunc{fhirtest.RetryAfter(429, "2")}, want: "inlined", wantBody: "late", wantWaits: 1},
		{name: "failing server", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", "x"},
			faults: slices.Repeat([]http.HandlerFunc{fhirtest.Status(500)}, 6), want: "failed", wantReason: "HTTP 500", wantWaits: 5},
		{name: "slow server", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", "slow"},
			faults: []http.HandlerFunc{fhirtest.Slow(20*time.Millisecond, fhirtest.Answer("text/plain", "slow"))}, want: "inlined", wantBody: "slow"},
		{name: "server that never answers", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", "x"},
			faults: []http.HandlerFunc{fhirtest.Hang()}, opts: func(o *hydrate.Options) { o.NoteTimeout = 100 * time.Millisecond },
			want: "failed", wantReason: "timed out"},
		{name: "over the cap", attachment: `{"contentType":"text/plain","url":"Binary/a"}`, binary: &[3]string{"a", "text/plain", strings.Repeat("x", 2000)},
			opts: func(o *hydrate.Options) { o.MaxNoteSize = 1000 }, want: "too large"},
		{name: "another host gets no token", attachment: `{"contentType":"text/plain","url":"{OTHER}/Binary/a"}`, want: "inlined", wantBody: "{}"},
		{name: "type not asked for", attachment: `{"contentType":"application/pdf","url":"Binary/a"}`, want: "skipped type"},
		{name: "already inlined", attachment: `{"contentType":"text/plain","data":"aGk="}`, want: "done"},
		{name: "relative URL without a FHIR server", attachment: `{"contentType":"text/plain","url":"Binary/a"}`,
			opts: func(o *hydrate.Options) { o.Base = "" }, want: "relative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := setup(t)
			if tt.binary != nil {
				s.AddBinary(tt.binary[0], tt.binary[1], []byte(tt.binary[2]))
			}
			s.Fail("Binary/a", tt.faults...)
			att := strings.NewReplacer("{URL}", s.BaseURL, "{OTHER}", s.Other.URL).Replace(tt.attachment)
			dir := t.TempDir()
			path := writeFile(t, dir, "DocumentReference.000.ndjson", docRef("1", "current", att), docRef("2", "current", `{"contentType":"text/plain","data":"b2s="}`))
			rep := run(t, s, c, dir, tt.opts, hydrate.TaskDocInline)
			st := rep.Tasks[0]
			got := map[string]int64{"inlined": st.Inlined.Load(), "failed": st.Failed.Load(), "too large": st.TooLarge.Load(),
				"skipped type": st.SkippedType.Load(), "skipped status": st.SkippedStatus.Load(), "done": st.AlreadyDone.Load() - 1, "relative": st.Relative.Load()}
			for k, n := range got {
				want := int64(0)
				if k == tt.want || (tt.want == "relative" && k == "failed") {
					want = 1
				}
				if n != want {
					t.Errorf("%s = %d, want %d (stats %+v)", k, n, want, got)
				}
			}
			out := lines(t, path)
			a := attachmentOf(out[0])
			if tt.want != "inlined" {
				if out[0] != docRef("1", "current", att) {
					t.Errorf("line changed: %s", out[0])
				}
			} else {
				if tt.wantBody != "" && a.Get("data").String() != b64(tt.wantBody) {
					t.Errorf("data = %s, want base64 of %q", a.Get("data"), tt.wantBody)
				}
				if tt.wantType != "" && a.Get("contentType").String() != tt.wantType {
					t.Errorf("contentType = %s, want %s", a.Get("contentType"), tt.wantType)
				}
				if a.Get("url").String() == "" || a.Get("size").Int() == 0 || a.Get("hash").String() == "" {
					t.Errorf("url, size or hash missing: %s", a.Raw)
				}
			}
			if tt.wantText != "" {
				atts, _ := notes.Attachments("DocumentReference", []byte(out[0]))
				if text, err := notes.Text(atts[0]); err != nil || text != tt.wantText {
					t.Errorf("text %q (%v), want %q", text, err, tt.wantText)
				}
			}
			if waits := s.Waits(); len(waits) != tt.wantWaits || (tt.wantWaits == 1 && waits[0] != 2*time.Second) {
				t.Errorf("the client waited %v", waits)
			}
			if tt.wantReason != "" {
				f := st.Failures()
				if len(f) != 1 || !strings.Contains(f[0].Reason, tt.wantReason) || !strings.Contains(f[0].Where, "DocumentReference.000.ndjson:1 content.0.attachment") {
					t.Errorf("failures %v, want one with %q", f, tt.wantReason)
				}
			}
			if auths := s.Other.Authorizations(); slices.ContainsFunc(auths, func(a string) bool { return a != "" }) {
				t.Errorf("the other host got credentials: %q", auths)
			}
			if out[1] != docRef("2", "current", `{"contentType":"text/plain","data":"b2s="}`) {
				t.Errorf("the inlined note changed: %s", out[1])
			}
		})
	}
}
