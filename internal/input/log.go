package input

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/store"
)

// Sentinel errors wrapped by Export.LogErr; with any of them the export
// group and time must come from somewhere else (command-line flags).
var (
	// ErrNoLog means the folder has neither log.ndjson nor log.*.ndjson.
	ErrNoLog = errors.New("no export log (log.ndjson)")
	// ErrMultipleLogs means there is no log.ndjson but several log.*.ndjson.
	ErrMultipleLogs = errors.New("several export logs (log.*.ndjson) and no log.ndjson")
	// ErrIncompleteLog means the log lacks a kickoff or status_complete event
	// for its last export, or has a line that cannot be parsed.
	ErrIncompleteLog = errors.New("incomplete export log")
)

// LogInfo is what the export log says about the last export it records.
type LogInfo struct {
	ExportID           string    // exportId of the last kickoff event
	ExportURL          string    // kickoff eventDetail.exportUrl
	GroupName          string    // path segment after /Group/ in ExportURL; "" for system or patient exports
	TransactionTime    time.Time // last status_complete eventDetail.transactionTime; UTC if it has no offset
	TransactionTimeRaw string    // the same, exactly as written in the log
}

// readLog finds and parses the export log at the top of the export folder s
// (top lists the names there), in the bulk-data-client "Bulk Data Export Log
// Items" format.
func readLog(ctx context.Context, s store.Store, top []string) (*LogInfo, error) {
	name, err := findLog(s.Location(""), top)
	if err != nil {
		return nil, err
	}
	r, err := File{Name: name, Path: s.Location(name), store: s}.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the export log: %w", err)
	}
	defer r.Close()
	return parseLog(r)
}

// findLog returns log.ndjson if present among the names at the top of the
// folder root, else the only log.*.ndjson.
func findLog(root string, top []string) (string, error) {
	var logs []string
	for _, name := range top {
		if name == "log.ndjson" {
			return name, nil
		}
		if isLogName(name) {
			logs = append(logs, name)
		}
	}
	slices.Sort(logs)
	switch len(logs) {
	case 0:
		return "", fmt.Errorf("%w in %s", ErrNoLog, root)
	case 1:
		return logs[0], nil
	}
	return "", fmt.Errorf("%w in %s: %s", ErrMultipleLogs, root, strings.Join(logs, ", "))
}

// logRow is one line of the export log; only the fields used here.
type logRow struct {
	ExportID    string          `json:"exportId"`
	EventID     string          `json:"eventId"`
	EventDetail json.RawMessage `json:"eventDetail"`
}

// exportEvents collects, for one exportId, the last kickoff and status_complete.
type exportEvents struct {
	kickoff     *LogInfo // ExportURL and GroupName set
	kickoffErr  error
	complete    *LogInfo // TransactionTime fields set
	completeErr error
}

// parseLog reads the log once, keeping the last kickoff and status_complete
// per exportId, then picks the export of the last kickoff. Rows without an
// exportId (older logs) count as one export with the empty id.
func parseLog(r *ndjson.Reader) (*LogInfo, error) {
	path := r.Name()
	exports := make(map[string]*exportEvents)
	lastKickoff := ""
	sawKickoff := false
	for r.Next() {
		var row logRow
		if err := decodeObject(r.Line(), &row); err != nil {
			return nil, r.Errorf("%w: malformed log line: %w", ErrIncompleteLog, err)
		}
		if row.EventID != "kickoff" && row.EventID != "status_complete" {
			continue
		}
		ev := exports[row.ExportID]
		if ev == nil {
			ev = &exportEvents{}
			exports[row.ExportID] = ev
		}
		if row.EventID == "kickoff" {
			lastKickoff, sawKickoff = row.ExportID, true
			ev.kickoff, ev.kickoffErr = parseKickoff(r, row.EventDetail)
		} else {
			ev.complete, ev.completeErr = parseStatusComplete(r, row.EventDetail)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("reading the export log: %w", err)
	}
	if !sawKickoff {
		return nil, fmt.Errorf("%s: %w: no kickoff event", path, ErrIncompleteLog)
	}
	return exports[lastKickoff].merge(path, lastKickoff)
}

// merge combines the kickoff and status_complete of export id.
func (ev *exportEvents) merge(path, id string) (*LogInfo, error) {
	switch {
	case ev.kickoffErr != nil:
		return nil, ev.kickoffErr
	case ev.completeErr != nil:
		return nil, ev.completeErr
	case ev.complete == nil:
		return nil, fmt.Errorf("%s: %w: no status_complete event for export %q (did the export finish?)", path, ErrIncompleteLog, id)
	}
	info := *ev.complete
	info.ExportID = id
	info.ExportURL, info.GroupName = ev.kickoff.ExportURL, ev.kickoff.GroupName
	return &info, nil
}

func parseKickoff(r *ndjson.Reader, detail json.RawMessage) (*LogInfo, error) {
	var d struct {
		ExportURL string `json:"exportUrl"`
	}
	if err := unmarshalDetail(detail, &d); err != nil {
		return nil, r.Errorf("%w: kickoff eventDetail: %w", ErrIncompleteLog, err)
	}
	if d.ExportURL == "" {
		return nil, r.Errorf("%w: kickoff event has no eventDetail.exportUrl", ErrIncompleteLog)
	}
	group, err := groupName(d.ExportURL)
	if err != nil {
		return nil, r.Errorf("%w: kickoff eventDetail.exportUrl: %w", ErrIncompleteLog, err)
	}
	return &LogInfo{ExportURL: d.ExportURL, GroupName: group}, nil
}

func parseStatusComplete(r *ndjson.Reader, detail json.RawMessage) (*LogInfo, error) {
	var d struct {
		TransactionTime string `json:"transactionTime"`
	}
	if err := unmarshalDetail(detail, &d); err != nil {
		return nil, r.Errorf("%w: status_complete eventDetail: %w", ErrIncompleteLog, err)
	}
	if d.TransactionTime == "" {
		return nil, r.Errorf("%w: status_complete event has no eventDetail.transactionTime", ErrIncompleteLog)
	}
	t, err := parseTime(d.TransactionTime)
	if err != nil {
		return nil, r.Errorf("%w: status_complete eventDetail.transactionTime: %w", ErrIncompleteLog, err)
	}
	return &LogInfo{TransactionTime: t, TransactionTimeRaw: d.TransactionTime}, nil
}

// unmarshalDetail decodes an eventDetail object; a missing one is an error.
func unmarshalDetail(detail json.RawMessage, v any) error {
	if len(detail) == 0 || string(detail) == "null" {
		return errors.New("missing")
	}
	return json.Unmarshal(detail, v)
}

// groupName returns the path segment after "Group" in a FHIR export URL, or
// "" when the URL is not a group export.
func groupName(exportURL string) (string, error) {
	u, err := url.Parse(exportURL)
	if err != nil {
		return "", err
	}
	segs := strings.Split(u.Path, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "Group" && segs[i+1] != "" && !strings.HasPrefix(segs[i+1], "$") {
			return segs[i+1], nil
		}
	}
	return "", nil
}

// timeLayouts are the ISO 8601 forms accepted for transactionTime (those of
// Python's datetime.fromisoformat that servers are known to send).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// parseTime parses an ISO 8601 instant; one without an offset is taken as UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time", s)
}
