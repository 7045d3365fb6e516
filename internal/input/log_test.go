package input

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/store"
)

func kickoff(id, url string) string {
	return fmt.Sprintf(`{"exportId":%q,"eventId":"kickoff","eventDetail":{"exportUrl":%q}}`, id, url)
}

func complete(id, tt string) string {
	return fmt.Sprintf(`{"exportId":%q,"eventId":"status_complete","eventDetail":{"transactionTime":%q}}`, id, tt)
}

func TestFindLog(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    string
		wantErr error
	}{
		{"log.ndjson", []string{"log.ndjson"}, "log.ndjson", nil},
		{"renamed log", []string{"log.blarg.ndjson"}, "log.blarg.ndjson", nil},
		{"numbered log", []string{"log.0001.ndjson"}, "log.0001.ndjson", nil},
		{"log.ndjson preferred over others", []string{"log.1.ndjson", "log.ndjson", "log.2.ndjson"}, "log.ndjson", nil},
		{"no log", nil, "", ErrNoLog},
		{"log only in a subfolder", []string{"sub/log.ndjson"}, "", ErrNoLog},
		{"several renamed logs", []string{"log.1.ndjson", "log.2.ndjson"}, "", ErrMultipleLogs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"distraction.txt": "hi", "log.ndjson.bak": "bye", "log..ndjson": "x"}
			for _, f := range tt.files {
				files[f] = lines(kickoff("e", "https://host/Group/G"), complete("e", "2020-10-17"))
			}
			root := writeTree(t, files)
			got, err := findLog(root, topNames(t, root))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), root) {
					t.Fatalf("err = %v, want %v naming %s", err, tt.wantErr, root)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("findLog = %q, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// bulkDataClientRows is a complete log shaped like the examples of the
// bulk-data-client "Bulk Data Export Log Items" wiki page.
var bulkDataClientRows = []string{
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:45.133Z","eventId":"kickoff","eventDetail":{"exportUrl":"https://bulk-data.smarthealthit.org/fhir/Group/BMCHealthNet/$export?_type=Patient,Condition","softwareName":"SMART Sample Bulk Data Server","softwareVersion":"2.1.1","softwareReleaseDate":null,"fhirVersion":"4.0.1","requestParameters":{"_type":"Patient,Condition"},"errorCode":null,"errorBody":null,"responseHeaders":{"content-location":"https://bulk-data.smarthealthit.org/fhir/bulkstatus/abc"}}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:46.001Z","eventId":"status_progress","eventDetail":{"body":null,"xProgress":"50% complete","retryAfter":"1"}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:47.133Z","eventId":"status_complete","eventDetail":{"transactionTime":"2022-09-15T19:07:44.087Z"}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:47.134Z","eventId":"status_page_complete","eventDetail":{"transactionTime":"2022-09-15T19:07:44.087Z","outputFileCount":2,"deletedFileCount":0,"errorFileCount":0}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:47.135Z","eventId":"manifest_complete","eventDetail":{"transactionTime":"2022-09-15T19:07:44.087Z","totalOutputFileCount":2,"totalDeletedFileCount":0,"totalErrorFileCount":0,"totalManifests":1}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:47.200Z","eventId":"download_request","eventDetail":{"fileUrl":"https://bulk-data.smarthealthit.org/fhir/bulkfiles/1.Patient.ndjson","itemType":"output","resourceType":"Patient"}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:47.900Z","eventId":"download_complete","eventDetail":{"fileUrl":"https://bulk-data.smarthealthit.org/fhir/bulkfiles/1.Patient.ndjson","resourceCount":100,"fileSize":152342}}`,
	`{"exportId":"c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31","timestamp":"2022-09-15T19:07:48.000Z","eventId":"export_complete","eventDetail":{"files":2,"resources":300,"bytes":452342,"attachments":null,"duration":2867}}`,
}

func TestParseLog(t *testing.T) {
	tests := []struct {
		name      string
		rows      []string
		wantID    string
		wantURL   string
		wantGroup string
		wantTime  string // RFC 3339 in UTC
		wantErr   string // substring; the error must also wrap ErrIncompleteLog
	}{
		{
			name: "bulk-data-client example log", rows: bulkDataClientRows,
			wantID:    "c8b8a6a5-0f32-4a4b-8ac1-3a4f3b1e6a31",
			wantURL:   "https://bulk-data.smarthealthit.org/fhir/Group/BMCHealthNet/$export?_type=Patient,Condition",
			wantGroup: "BMCHealthNet", wantTime: "2022-09-15T19:07:44.087Z",
		},
		{
			name:   "Cumulus ETL happy path",
			rows:   []string{kickoff("http://localhost:9999/fhir/poll", "http://localhost:9999/fhir/Group/MyGroup/$export?_type=Condition%2CPatient"), complete("http://localhost:9999/fhir/poll", "2015-02-07T13:28:17.239+02:00")},
			wantID: "http://localhost:9999/fhir/poll", wantURL: "http://localhost:9999/fhir/Group/MyGroup/$export?_type=Condition%2CPatient",
			wantGroup: "MyGroup", wantTime: "2015-02-07T11:28:17.239Z",
		},
		{
			name:   "same export: last kickoff and last status_complete win",
			rows:   []string{kickoff("e", "https://host/Group/1st"), kickoff("e", "https://host/Group/2nd"), complete("e", "2001-01-01T00:00:00Z"), complete("e", "2002-02-02T00:00:00Z")},
			wantID: "e", wantURL: "https://host/Group/2nd", wantGroup: "2nd", wantTime: "2002-02-02T00:00:00Z",
		},
		{
			name:   "interleaved exports: rows of the last kickoff's export only",
			rows:   []string{kickoff("a", "https://host/Group/A"), kickoff("b", "https://host/Group/B"), complete("b", "2020-02-02T00:00:00Z"), complete("a", "2020-01-01T00:00:00Z")},
			wantID: "b", wantURL: "https://host/Group/B", wantGroup: "B", wantTime: "2020-02-02T00:00:00Z",
		},
		{
			name:   "interleaved exports: resumed export kicked off again",
			rows:   []string{kickoff("a", "https://host/Group/A"), kickoff("b", "https://host/Group/B"), kickoff("a", "https://host/Group/A"), complete("b", "2020-02-02T00:00:00Z"), complete("a", "2020-01-01T00:00:00Z")},
			wantID: "a", wantURL: "https://host/Group/A", wantGroup: "A", wantTime: "2020-01-01T00:00:00Z",
		},
		{
			name:   "broken rows of other exports are ignored",
			rows:   []string{`{"exportId":"a","eventId":"kickoff"}`, kickoff("b", "https://host/Group/B"), `{"exportId":"a","eventId":"status_complete","eventDetail":{}}`, complete("b", "2020-02-02")},
			wantID: "b", wantURL: "https://host/Group/B", wantGroup: "B", wantTime: "2020-02-02T00:00:00Z",
		},
		{
			name:   "rows without exportId (older logs)",
			rows:   []string{`{"eventId":"kickoff","eventDetail":{"exportUrl":"https://host/Group/G"}}`, `{"eventId":"status_complete","eventDetail":{"transactionTime":"2020-10-17"}}`},
			wantID: "", wantURL: "https://host/Group/G", wantGroup: "G", wantTime: "2020-10-17T00:00:00Z",
		},
		{
			name:   "system-level export has no group",
			rows:   []string{kickoff("e", "https://host/fhir/$export"), complete("e", "2020-10-17T01:02:03")},
			wantID: "e", wantURL: "https://host/fhir/$export", wantGroup: "", wantTime: "2020-10-17T01:02:03Z",
		},
		{
			name:   "host named Group is not a group export",
			rows:   []string{kickoff("e", "https://Group/MyGroup"), complete("e", "2020-10-17T01:02:03+0100")},
			wantID: "e", wantURL: "https://Group/MyGroup", wantGroup: "", wantTime: "2020-10-17T00:02:03Z",
		},
		{
			name:   "escaped group id is decoded",
			rows:   []string{kickoff("e", "https://host/root/Group/My%20Group/"), complete("e", "2020-10-17")},
			wantID: "e", wantURL: "https://host/root/Group/My%20Group/", wantGroup: "My Group", wantTime: "2020-10-17T00:00:00Z",
		},
		{name: "no rows", rows: nil, wantErr: "no kickoff event"},
		{name: "missing kickoff", rows: []string{complete("e", "2010-03-09")}, wantErr: "no kickoff event"},
		{name: "missing status_complete", rows: []string{kickoff("e", "https://host/Group/G")}, wantErr: `no status_complete event for export "e"`},
		{
			name:    "status_complete of another export does not count",
			rows:    []string{kickoff("a", "https://host/Group/A"), complete("a", "2020-01-01"), kickoff("b", "https://host/Group/B")},
			wantErr: `no status_complete event for export "b"`,
		},
		{name: "kickoff without eventDetail", rows: []string{`{"eventId":"kickoff"}`, complete("", "2020-01-01")}, wantErr: "log.ndjson:1: incomplete export log: kickoff eventDetail: missing"},
		{name: "kickoff without exportUrl", rows: []string{`{"eventId":"kickoff","eventDetail":{}}`}, wantErr: "log.ndjson:1: incomplete export log: kickoff event has no eventDetail.exportUrl"},
		{
			name:    "status_complete without transactionTime",
			rows:    []string{kickoff("e", "https://h/Group/G"), `{"exportId":"e","eventId":"status_complete","eventDetail":{}}`},
			wantErr: "log.ndjson:2: incomplete export log: status_complete event has no eventDetail.transactionTime",
		},
		{
			name:    "unparseable transactionTime",
			rows:    []string{kickoff("e", "https://h/Group/G"), complete("e", "last tuesday")},
			wantErr: `log.ndjson:2: incomplete export log: status_complete eventDetail.transactionTime: "last tuesday" is not an ISO 8601 date-time`,
		},
		{name: "malformed line", rows: []string{kickoff("e", "https://h/Group/G"), `{"eventId":`}, wantErr: "log.ndjson:2: incomplete export log: malformed log line"},
		{name: "line that is not an object", rows: []string{`null`}, wantErr: "log.ndjson:1: incomplete export log: malformed log line: not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"log.ndjson": strings.Join(tt.rows, "\n")})
			info, err := readLog(context.Background(), store.NewLocal(root, store.Options{}), []string{"log.ndjson"})
			if tt.wantErr != "" {
				if !errors.Is(err, ErrIncompleteLog) {
					t.Errorf("err = %v, want it to wrap ErrIncompleteLog", err)
				}
				checkErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.ExportID != tt.wantID || info.ExportURL != tt.wantURL || info.GroupName != tt.wantGroup {
				t.Errorf("got id %q url %q group %q, want %q %q %q", info.ExportID, info.ExportURL, info.GroupName, tt.wantID, tt.wantURL, tt.wantGroup)
			}
			if got := info.TransactionTime.UTC().Format(time.RFC3339Nano); got != tt.wantTime {
				t.Errorf("TransactionTime = %s, want %s", got, tt.wantTime)
			}
			if !strings.Contains(strings.Join(tt.rows, "\n"), `"transactionTime":"`+info.TransactionTimeRaw+`"`) {
				t.Errorf("TransactionTimeRaw = %q is not the logged text", info.TransactionTimeRaw)
			}
		})
	}
}

func TestScanReportsLogProblemsWithoutFailing(t *testing.T) {
	root := writeTree(t, map[string]string{
		"Patient.ndjson": lines(patient),
		"log.ndjson":     lines(kickoff("e", "https://h/Group/G")),
	})
	exp, err := scanDir(t, root)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Log != nil || !errors.Is(exp.LogErr, ErrIncompleteLog) || !strings.Contains(exp.LogErr.Error(), filepath.Join(root, "log.ndjson")) {
		t.Errorf("Log = %+v, LogErr = %v", exp.Log, exp.LogErr)
	}
	if err := os.WriteFile(filepath.Join(root, "log.ndjson"), []byte(lines(kickoff("e", "https://h/Group/G"), complete("e", "2024-05-01T00:00:00Z"))), 0o600); err != nil {
		t.Fatal(err)
	}
	exp, err = scanDir(t, root)
	if err != nil || exp.LogErr != nil || exp.Log == nil || exp.Log.GroupName != "G" {
		t.Errorf("Scan = %+v, %v; LogErr %v", exp, err, exp.LogErr)
	}
}
