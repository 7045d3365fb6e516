package bulk

import (
	"net/url"
	"slices"
	"strings"
)

// ModeCrawl is FolderState.Mode for a folder written by a crawl (per-patient searches) instead
// of the Bulk Data protocol.
const ModeCrawl = "crawl"

// FolderState is what an export folder's saved state (DIR/.cumulus-export/state.json) says. A
// crawl keeps its state in the same place and shape, so whoever reads the folder (etl's check
// for unfinished exports, --since auto) treats every export of ours alike.
type FolderState struct {
	Mode            string // "" for a bulk export, ModeCrawl
	ExportURL       string // the request: a kick-off URL (a crawl records the one a bulk export would send)
	StatusURL       string // a bulk export's status URL
	Complete        bool
	TransactionTime string // the server's transactionTime (a crawl: when it started), once Complete
	Unfinished      string // what is left to do, said to whoever finds the folder unfinished
}

// ReadFolderState returns the state saved in dir, or nil when dir holds no export of ours.
func ReadFolderState(dir string) (*FolderState, error) {
	s, err := loadState(dir)
	if err != nil || s == nil {
		return nil, err
	}
	return &FolderState{Mode: s.Mode, ExportURL: s.ExportURL, StatusURL: s.StatusURL, Complete: s.Complete,
		TransactionTime: s.TransactionTime, Unfinished: s.Unfinished}, nil
}

// WriteFolderState saves st in dir atomically (for exports made without Export, such as a crawl).
func WriteFolderState(dir string, st FolderState) error {
	return saveState(dir, &savedState{Mode: st.Mode, ExportURL: st.ExportURL, StatusURL: st.StatusURL,
		Complete: st.Complete, TransactionTime: st.TransactionTime, Unfinished: st.Unfinished})
}

// SameRequest reports whether two kick-off URLs ask for the same data apart from the time window
// (_since, _until): the same endpoint, types and filters, whatever the order of parameters and
// of comma-separated values. --since auto uses it to find the earlier exports of a request.
func SameRequest(a, b string) bool {
	return sameExport(withoutWindow(a), withoutWindow(b))
}

func withoutWindow(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Del("_since")
	q.Del("_until")
	u.RawQuery = q.Encode()
	return u.String()
}

// StateFolder is the hidden folder inside an export folder that holds its resume state; other
// ways of exporting keep theirs beneath it.
func StateFolder(dir string) string { return stateDir(dir) }

func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// keyedParams turns a query into params, keys sorted, for logs of exports made without a kick-off.
func keyedParams(q url.Values) params {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ps := make(params, 0, len(keys))
	for _, k := range keys {
		ps = append(ps, param{key: k, values: []string{strings.Join(q[k], ",")}})
	}
	return ps
}

// KickoffURL returns the GET kick-off URL Export would send for opts (Patients and Post aside),
// so an export made another way can record the same request.
func KickoffURL(opts Options) (string, error) {
	opts.Patients, opts.Post = nil, false
	k, err := planKickoff(opts)
	return k.url, err
}

// Log writes DIR/log.ndjson for an export made without the Bulk Data protocol (a crawl), in the
// format Export writes, so readers of the folder find its request, transaction time and
// completion the same way.
type Log struct{ l *exportLog }

// Software is what a CapabilityStatement says about the server, for the log's kick-off row.
type Software struct {
	FHIRVersion, Name, Version, ReleaseDate string
}

// NewLog returns the log of dir; exportID names the export in every row.
func NewLog(dir, exportID string, clock Clock, version string) *Log {
	if clock == nil {
		clock = WallClock{}
	}
	l := newExportLog(dir, clock, version)
	l.setExportID(exportID)
	return &Log{l: l}
}

// Kickoff records the request (a kick-off URL, its parameters) and the server's software.
func (l *Log) Kickoff(exportURL string, sw Software) error {
	var caps capabilities
	caps.FHIRVersion, caps.Software.Name, caps.Software.Version, caps.Software.ReleaseDate = sw.FHIRVersion, sw.Name, sw.Version, sw.ReleaseDate
	var ps params
	if u, err := url.Parse(exportURL); err == nil {
		ps = keyedParams(u.Query())
	}
	defer l.l.close() // a Log writes a row or two now and then: it keeps no file open
	return l.l.kickoff(exportURL, caps, ps, nil, nil, nil)
}

// Complete records the transaction time (status_complete) and the totals (export_complete).
func (l *Log) Complete(transactionTime string, files int, resources, bytes int64) error {
	defer l.l.close()
	if err := l.l.event("status_complete", map[string]any{"transactionTime": transactionTime}, nil); err != nil {
		return err
	}
	return l.l.exportComplete(files, resources, bytes)
}
