package notes

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	htmltomarkdown "github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"github.com/tidwall/gjson"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/htmlindex"
)

// ErrNotInlined means the chosen attachment has no data: run `cumulus-etl inline` first.
var ErrNotInlined = errors.New("the note is not inlined (the attachment has no data)")

// DetectCharset names the charset of a note's bytes: a byte order mark, else the Content-Type's
// charset parameter, else for HTML a <meta charset> in its first 1024 bytes, else utf-8 when the
// bytes are valid UTF-8, else windows-1252 (what browsers read latin-1 text as). Names are the
// WHATWG ones in lower case ("utf-8", "windows-1252", ...), except a parameter the server gave
// is kept as given.
func DetectCharset(contentType string, body []byte) string {
	if _, name, bom := charset.DetermineEncoding(body, ""); bom {
		return strings.ToLower(name) // with no Content-Type, only a byte order mark is certain
	}
	if param := CharsetParam(contentType); param != "" {
		return param
	}
	if isHTML(MediaType(contentType)) {
		if _, name, _ := charset.DetermineEncoding(body, "text/html"); name != "" && name != "windows-1252" {
			return strings.ToLower(name) // found by the <meta> prescan
		}
	}
	if utf8.Valid(body) {
		return "utf-8"
	}
	return "windows-1252"
}

// Decode turns a note's bytes into text, by the charset DetectCharset finds. Bytes that are not
// valid in a UTF-8 note become U+FFFD; an unknown charset is an error.
func Decode(contentType string, body []byte) (string, error) {
	name := DetectCharset(contentType, body)
	enc, err := htmlindex.Get(name)
	if err != nil {
		return "", fmt.Errorf("unknown charset %q: %w", name, err)
	}
	if n, _ := htmlindex.Name(enc); n == "utf-8" {
		return strings.ToValidUTF8(strings.TrimPrefix(string(body), "\ufeff"), "\ufffd"), nil
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return "", fmt.Errorf("decoding %s: %w", name, err)
	}
	return strings.TrimPrefix(string(out), "\ufeff"), nil
}

// Text returns the readable text of an inlined attachment: its data decoded by its charset, and
// HTML (text/html, application/xhtml+xml) turned into text with paragraphs, lists and tables
// kept and scripts and styles dropped. It fails with ErrNotInlined when the attachment has no data.
func Text(a Attachment) (string, error) {
	if !a.HasData {
		return "", ErrNotInlined
	}
	data, err := base64.StdEncoding.DecodeString(gjson.GetBytes(a.Raw, "data").String())
	if err != nil {
		return "", fmt.Errorf("attachment data is not base64: %w", err)
	}
	s, err := Decode(a.ContentType, data)
	if err != nil || !isHTML(a.MediaType) {
		return s, err
	}
	return HTMLToText(s)
}

// IsText reports whether a media type (type/subtype, lower case) is text, whose bytes have a
// charset: text/*, XML and JSON types (application/xhtml+xml, application/fhir+json, ...).
func IsText(mediaType string) bool {
	return strings.HasPrefix(mediaType, "text/") || mediaType == "application/xml" || mediaType == "application/json" ||
		strings.HasSuffix(mediaType, "+xml") || strings.HasSuffix(mediaType, "+json")
}

func isHTML(mediaType string) bool {
	return mediaType == "text/html" || mediaType == "application/xhtml+xml"
}

// HTMLToText renders an HTML document as readable text (Markdown-like: headings, paragraphs,
// list items and table rows each on their own lines). Script, style and head content is dropped,
// and nothing is escaped, so the words stay as they were written.
func HTMLToText(html string) (string, error) {
	conv := htmltomarkdown.NewConverter(
		htmltomarkdown.WithPlugins(base.NewBasePlugin(), commonmark.NewCommonmarkPlugin(), table.NewTablePlugin(table.WithHeaderPromotion(true))),
		htmltomarkdown.WithEscapeMode(htmltomarkdown.EscapeModeDisabled))
	text, err := conv.ConvertString(html)
	if err != nil {
		return "", fmt.Errorf("converting HTML to text: %w", err)
	}
	return text, nil
}
