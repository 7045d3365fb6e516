package bulk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"cumulus-etl/internal/redact"
)

// exportLog appends rows to DIR/log.ndjson in the bulk-data-client "Bulk Data Export Log Items"
// format that Cumulus ETL's log parser reads. Each row is appended with one write to a file kept
// open for the export, so a crash loses at most the row being written. Every URL in it (exportUrl, fileUrl, URL-valued
// response headers) goes through redact.URL: the scheme, host, path and ordinary parameters stay,
// so rows still say which file they are about, while signature-like parameter values of signed
// URLs become REDACTED; error bodies lose the secrets they echo, and Set-Cookie is not kept.
type exportLog struct {
	mu       sync.Mutex
	f        *os.File // open from the first row to close
	path     string
	exportID string
	clock    Clock
	started  time.Time
	version  string
}

func newExportLog(dir string, clock Clock, version string) *exportLog {
	return &exportLog{path: filepath.Join(dir, "log.ndjson"), clock: clock, started: clock.Now(), version: version}
}

// setExportID fixes the exportId for later rows (the status URL, stable across resumes).
func (l *exportLog) setExportID(id string) {
	l.mu.Lock()
	l.exportID = id
	l.mu.Unlock()
}

// event appends one row. extra holds top-level fields beyond the standard four.
func (l *exportLog) event(id string, detail map[string]any, extra map[string]any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	row := map[string]any{
		"exportId":    l.exportID,
		"timestamp":   l.clock.Now().Local().Format("2006-01-02T15:04:05.000000-07:00"),
		"eventId":     id,
		"eventDetail": detail,
	}
	for k, v := range extra {
		row[k] = v
	}
	b, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("encoding %s log row: %w", id, err)
	}
	if l.f == nil {
		if l.f, err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return fmt.Errorf("opening export log: %w", err)
		}
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing export log %s: %w", l.path, err)
	}
	return nil
}

// close closes the log file; a later row opens it again.
func (l *exportLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// kickoff logs the kick-off with the server's CapabilityStatement details.
func (l *exportLog) kickoff(exportURL string, caps capabilities, ps params, code any, body any, headers http.Header) error {
	return l.event("kickoff", map[string]any{
		"exportUrl":           redact.URL(exportURL),
		"softwareName":        caps.Software.Name,
		"softwareVersion":     caps.Software.Version,
		"softwareReleaseDate": caps.Software.ReleaseDate,
		"fhirVersion":         caps.FHIRVersion,
		"requestParameters":   ps.logged(),
		"errorCode":           code,
		"errorBody":           body,
		"responseHeaders":     lowerHeaders(headers),
	}, map[string]any{"_client": "cumulus-etl", "_clientVersion": l.version})
}

// statusError logs one failed status or page request.
func (l *exportLog) statusError(code int, body any, msg string, headers http.Header) error {
	return l.event("status_error", map[string]any{
		"body": body, "code": code, "message": msg, "responseHeaders": lowerHeaders(headers),
	}, nil)
}

// downloadError logs one failed file request; code and body are nil for stream errors.
func (l *exportLog) downloadError(fileURL string, code any, body []byte, msg string, headers http.Header) error {
	var logged any
	if body != nil {
		logged = bodyForLog([]byte(redact.Secrets(string(body), fileURL)))
	}
	return l.event("download_error", map[string]any{
		"fileUrl": redact.URL(fileURL), "body": logged, "code": code, "message": msg, "responseHeaders": lowerHeaders(headers),
	}, nil)
}

// fileEvent logs a download_request or download_complete row about fileURL.
func (l *exportLog) fileEvent(id, fileURL string, detail map[string]any) error {
	detail["fileUrl"] = redact.URL(fileURL)
	return l.event(id, detail, nil)
}

// exportComplete logs the totals; duration is milliseconds since this run's first event.
func (l *exportLog) exportComplete(files int, resources, bytes int64) error {
	return l.event("export_complete", map[string]any{
		"files": files, "resources": resources, "bytes": bytes, "attachments": nil,
		"duration": l.clock.Now().Sub(l.started).Milliseconds(),
	}, nil)
}

// linkTarget is a <URL> in a Link header.
var linkTarget = regexp.MustCompile(`<[^>]*>`)

// lowerHeaders returns response headers with lower-case names for the log, URL-valued ones
// redacted and cookies left out.
func lowerHeaders(h http.Header) map[string]string {
	if h == nil {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, v := range h {
		name, value := strings.ToLower(k), strings.Join(v, ", ")
		switch name {
		case "set-cookie":
			continue
		case "location", "content-location":
			value = redact.URL(value)
		case "link":
			value = linkTarget.ReplaceAllStringFunc(value, func(s string) string { return "<" + redact.URL(s[1:len(s)-1]) + ">" })
		}
		m[name] = value
	}
	return m
}

// bodyForLog returns a response body as a JSON value when it parses, else as text.
func bodyForLog(b []byte) any {
	var v any
	if json.Unmarshal(b, &v) == nil {
		return v
	}
	return string(b)
}
