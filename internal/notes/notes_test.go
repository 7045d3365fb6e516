package notes_test

import (
	"strings"
	"testing"

	"cumulus-etl/internal/notes"
)

// TestAttachments_WhereNotesLive: DocumentReference keeps notes in content[].attachment,
// DiagnosticReport in presentedForm[]; each is found with its offset in the line.
func TestAttachments_WhereNotesLive(t *testing.T) {
	tests := []struct {
		name, typ, line string
		want            []string // paths
	}{
		{"docref", "DocumentReference", `{"resourceType":"DocumentReference","content":[{"attachment":{"contentType":"text/plain","url":"Binary/1"}},{"format":{}},{"attachment":{"contentType":"text/html; charset=utf-8","data":"aGk="}}]}`,
			[]string{"content.0.attachment", "content.2.attachment"}},
		{"dxr", "DiagnosticReport", `{"resourceType":"DiagnosticReport", "presentedForm": [ {"contentType":"text/plain","url":"https://x/Binary/2"} ]}`,
			[]string{"presentedForm.0"}},
		{"no attachments", "DocumentReference", `{"resourceType":"DocumentReference"}`, nil},
		{"other type", "Observation", `{"resourceType":"Observation","content":[{"attachment":{}}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			atts, err := notes.Attachments(tt.typ, []byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, a := range atts {
				paths = append(paths, a.Path)
				if got := tt.line[a.Offset : a.Offset+len(a.Raw)]; got != string(a.Raw) || !strings.HasPrefix(got, "{") {
					t.Errorf("%s: offset %d does not point at the attachment (%q)", a.Path, a.Offset, got)
				}
			}
			if strings.Join(paths, ",") != strings.Join(tt.want, ",") {
				t.Errorf("paths %v, want %v", paths, tt.want)
			}
		})
	}
	atts, _ := notes.Attachments("DocumentReference", []byte(tests[0].line))
	if a := atts[1]; a.MediaType != "text/html" || !a.HasData || atts[0].URL != "Binary/1" || atts[0].HasData {
		t.Errorf("fields: %+v / %+v", atts[0], a)
	}
	if _, err := notes.Attachments("DocumentReference", []byte(`{"content":[`)); err != notes.ErrNotJSON {
		t.Errorf("broken line: err %v, want ErrNotJSON", err)
	}
}

// TestSkipReason_CumulusStatusRules: notes entered in error, superseded or preliminary are left alone.
func TestSkipReason_CumulusStatusRules(t *testing.T) {
	tests := []struct{ typ, line, want string }{
		{"DocumentReference", `{"status":"current","docStatus":"final"}`, ""},
		{"DocumentReference", `{"status":"current"}`, ""},
		{"DocumentReference", `{"status":"entered-in-error"}`, "status entered-in-error"},
		{"DocumentReference", `{"status":"superseded"}`, "status superseded"},
		{"DocumentReference", `{"status":"current","docStatus":"preliminary"}`, "docStatus preliminary"},
		{"DocumentReference", `{"status":"current","docStatus":"entered-in-error"}`, "docStatus entered-in-error"},
		{"DiagnosticReport", `{"status":"final"}`, ""},
		{"DiagnosticReport", `{"status":"preliminary"}`, "status preliminary"},
		{"DiagnosticReport", `{"status":"entered-in-error"}`, "status entered-in-error"},
	}
	for _, tt := range tests {
		if got := notes.SkipReason(tt.typ, []byte(tt.line)); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.typ, tt.line, got, tt.want)
		}
	}
}

// TestBest_CumulusPriority: text/plain over text/html over application/xhtml+xml; an inlined
// one wins a tie; PDFs are never note text.
func TestBest_CumulusPriority(t *testing.T) {
	att := func(mt string, data bool) notes.Attachment {
		return notes.Attachment{Path: mt, MediaType: mt, HasData: data}
	}
	tests := []struct {
		name string
		atts []notes.Attachment
		want string
	}{
		{"plain over html", []notes.Attachment{att("text/html", true), att("text/plain", false)}, "text/plain"},
		{"html over xhtml", []notes.Attachment{att("application/xhtml+xml", true), att("text/html", true)}, "text/html"},
		{"xhtml over pdf", []notes.Attachment{att("application/pdf", true), att("application/xhtml+xml", false)}, "application/xhtml+xml"},
		{"only pdf", []notes.Attachment{att("application/pdf", true)}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		got, ok := notes.Best(tt.atts)
		if (tt.want == "") == ok || (ok && got.MediaType != tt.want) {
			t.Errorf("%s: got %q ok=%v, want %q", tt.name, got.MediaType, ok, tt.want)
		}
	}
	if got, _ := notes.Best([]notes.Attachment{att("text/plain", false), {Path: "inlined", MediaType: "text/plain", HasData: true}}); got.Path != "inlined" {
		t.Errorf("tie: got %q, want the inlined one", got.Path)
	}
}

// TestDecode_Charsets: notes in latin-1 and UTF-8, labelled or not, decode to the same text.
func TestDecode_Charsets(t *testing.T) {
	tests := []struct {
		name, contentType, body, wantCharset, wantText string
	}{
		{"utf-8 labelled", "text/plain; charset=utf-8", "café", "utf-8", "café"},
		{"utf-8 unlabelled", "text/plain", "café", "utf-8", "café"},
		{"latin-1 labelled", "text/plain; charset=ISO-8859-1", "caf\xe9", "iso-8859-1", "café"},
		{"latin-1 unlabelled", "text/plain", "caf\xe9", "windows-1252", "café"},
		{"html meta charset", "text/html", `<meta charset="iso-8859-1"><p>caf` + "\xe9", "windows-1252", `<meta charset="iso-8859-1"><p>café`},
		{"utf-8 BOM beats label", "text/plain; charset=iso-8859-1", "\xef\xbb\xbfcafé", "utf-8", "café"},
		{"utf-16 BOM", "text/plain", "\xff\xfec\x00a\x00", "utf-16le", "ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notes.DetectCharset(tt.contentType, []byte(tt.body)); got != tt.wantCharset {
				t.Errorf("charset %q, want %q", got, tt.wantCharset)
			}
			got, err := notes.Decode(tt.contentType, []byte(tt.body))
			if err != nil || got != tt.wantText {
				t.Errorf("text %q (%v), want %q", got, err, tt.wantText)
			}
		})
	}
	if _, err := notes.Decode("text/plain; charset=klingon", []byte("x")); err == nil {
		t.Error("an unknown charset decoded")
	}
}

// TestHTMLToText_KeepsStructureDropsScripts: paragraphs, lists and tables stay readable;
// scripts, styles and the head are dropped.
func TestHTMLToText_KeepsStructureDropsScripts(t *testing.T) {
	html := `<html><head><title>Title</title><style>p{color:red}</style><script>var secret="js";</script></head>
<body><h1>Discharge summary</h1><p>Chest pain, 2*3 days.</p><p>Second paragraph.</p>
<ul><li>aspirin 81 mg</li><li>metoprolol</li></ul>
<table><tr><th>Test</th><th>Value</th></tr><tr><td>Na</td><td>140</td></tr></table><script>alert(1)</script></body></html>`
	got, err := notes.HTMLToText(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Discharge summary", "Chest pain, 2*3 days.\n\nSecond paragraph.", "- aspirin 81 mg\n- metoprolol", "| Na", "140"} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"secret", "alert", "color", "Title"} {
		if strings.Contains(got, gone) {
			t.Errorf("text keeps %q:\n%s", gone, got)
		}
	}
}

// TestInlined_FHIRAttachmentFields: data is base64, size the byte count, hash the base64 SHA-1,
// contentType gains the charset; url and every other field keep their place.
func TestInlined_FHIRAttachmentFields(t *testing.T) {
	raw := `{"contentType":"text/plain","url":"Binary/1","title":"x"}`
	got, err := notes.Inlined([]byte(raw), "text/plain", "utf-8", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"contentType":"text/plain; charset=utf-8","url":"Binary/1","title":"x","data":"aGVsbG8=","size":5,"hash":"qvTGHdzF6KLavt4PO0gs2a6pQ00="}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	line := `{"resourceType":"DocumentReference","content":[{"attachment":` + string(got) + `}]}`
	atts, _ := notes.Attachments("DocumentReference", []byte(line))
	text, err := notes.Text(atts[0])
	if err != nil || text != "hello" {
		t.Errorf("Text = %q, %v", text, err)
	}
	if _, err := notes.Text(notes.Attachment{}); err != notes.ErrNotInlined {
		t.Errorf("Text of a link: %v, want ErrNotInlined", err)
	}
}
