// Package notes is the one place that knows clinical notes: where a resource keeps its
// attachments (DocumentReference.content[].attachment, DiagnosticReport.presentedForm[]), which
// notes to leave alone (entered in error, superseded, preliminary), which attachment is the best
// text (text/plain over text/html over application/xhtml+xml, as Cumulus ETL picks), how its
// bytes decode (charset), how HTML becomes readable text, and how an attachment is filled with
// downloaded data (base64 data, size, SHA-1 hash, contentType with its charset).
//
// It works on raw ndjson lines and attachment JSON, so callers can splice a changed attachment
// back into a line without re-encoding (and so reordering or rounding) the rest of the resource.
package notes

import (
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/tidwall/gjson"
)

// Resource types that carry notes, and where.
const (
	DocumentReference = "DocumentReference" // content[].attachment
	DiagnosticReport  = "DiagnosticReport"  // presentedForm[]
)

// ResourceTypes lists the resource types whose attachments are notes.
var ResourceTypes = []string{DocumentReference, DiagnosticReport}

// DefaultMediaTypes are the attachment types worth downloading as notes (SMART Fetch's default).
var DefaultMediaTypes = []string{"text/plain", "text/html", "application/xhtml+xml"}

// ErrNotJSON means a line is not a JSON object.
var ErrNotJSON = errors.New("not a JSON object")

// Attachment is one attachment of a resource, as found in its line.
type Attachment struct {
	Path        string // where it sits, e.g. "content.0.attachment" or "presentedForm.1"
	Offset      int    // byte offset of Raw in the line
	Raw         []byte // the attachment object's JSON, a slice of the line
	ContentType string // as written, parameters included
	MediaType   string // ContentType's type/subtype, lower case; "" when absent or malformed
	URL         string
	HasData     bool // data is present: the note is inlined
}

// Attachments returns the attachments of a DocumentReference or DiagnosticReport line, in
// order. Other resource types have none. The line must be a JSON object.
func Attachments(resourceType string, line []byte) ([]Attachment, error) {
	if !gjson.ValidBytes(line) || !gjson.ParseBytes(line).IsObject() {
		return nil, ErrNotJSON
	}
	var list, inner string
	switch resourceType {
	case DocumentReference:
		list, inner = "content", "attachment"
	case DiagnosticReport:
		list = "presentedForm"
	default:
		return nil, nil
	}
	var out []Attachment
	var err error
	arr := gjson.GetBytes(line, list)
	if !arr.IsArray() {
		return nil, nil
	}
	i := 0
	arr.ForEach(func(_, elem gjson.Result) bool {
		path := fmt.Sprintf("%s.%d", list, i)
		i++
		v := elem // gjson's Index is the value's byte offset in line
		if inner != "" {
			v = elem.Get(inner)
			path += "." + inner
		}
		if !v.IsObject() {
			return true
		}
		if end := v.Index + len(v.Raw); v.Index <= 0 || end > len(line) || string(line[v.Index:end]) != v.Raw {
			err = fmt.Errorf("cannot locate %s in the line", path)
			return false
		}
		out = append(out, newAttachment(path, line[v.Index:v.Index+len(v.Raw)], v.Index))
		return true
	})
	return out, err
}

func newAttachment(path string, raw []byte, offset int) Attachment {
	obj := gjson.ParseBytes(raw)
	ct := obj.Get("contentType").String()
	data := obj.Get("data")
	return Attachment{
		Path: path, Offset: offset, Raw: raw, ContentType: ct, MediaType: MediaType(ct),
		URL: obj.Get("url").String(), HasData: data.Exists() && data.Type != gjson.Null,
	}
}

// MediaType returns the type/subtype of a Content-Type value in lower case, without parameters,
// or "" when it is empty or malformed.
func MediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";") // a bad parameter still names the type
		mt = strings.TrimSpace(mt)
		if !strings.Contains(mt, "/") {
			return ""
		}
	}
	return strings.ToLower(mt)
}

// CharsetParam returns the charset parameter of a Content-Type value, lower case, or "".
func CharsetParam(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.Trim(params["charset"], `"' `))
}
