package synth

import (
	"net/url"
	"path"
	"strings"
	"time"

	"cumulus-etl/internal/synth/internal/fileout"
)

// Server-side names written into log.ndjson.
const (
	fhirBase  = "https://ehr.example.org/fhir"
	exportURL = fhirBase + "/Group/demo-group/$export"
)

// writeSideFiles writes deleted/Bundle.000.ndjson (a transaction Bundle deleting resources that
// are present in the output) and error/OperationOutcome.000.ndjson (one warning, nothing fatal).
func (g *gen) writeSideFiles(dir string) ([]fileStat, error) {
	var entries arr
	for _, d := range g.deleted {
		entries = append(entries, obj{{"request", obj{{"method", "DELETE"}, {"url", d}}}})
	}
	bundle := obj{{"resourceType", "Bundle"}, {"id", g.id()}, {"type", "transaction"}, {"entry", entries}}
	del, err := writeLines(dir, "deleted/Bundle.000.ndjson", "deleted", "Bundle", bundle)
	if err != nil {
		return nil, err
	}
	outcome := obj{{"resourceType", "OperationOutcome"}, {"id", g.id()}, {"issue", arr{obj{
		{"severity", "warning"},
		{"code", "processing"},
		{"details", obj{{"text", "Some Observation resources in category social-history were not exported: the search is not supported for this group"}}},
		{"diagnostics", "Observation?category=social-history is not supported for bulk export"},
	}}}}
	errs, err := writeLines(dir, "error/OperationOutcome.000.ndjson", "error", "OperationOutcome", outcome)
	if err != nil {
		return nil, err
	}
	return []fileStat{del, errs}, nil
}

// writeLog writes log.ndjson in the bulk-data-client "Bulk Data Export Log Items" format, as
// Cumulus ETL's exporter does: kickoff, status_complete, status_page_complete, manifest_complete,
// a download_request/download_complete pair per file, export_complete.
func (g *gen) writeLog(logPath string, files []fileStat) error {
	job := g.id()
	pollURL := fhirBase + "/$export-poll-status?_jobId=" + job
	types := strings.Join(allTypes(), ",")
	start := g.tx
	clock := start
	var rows []obj
	event := func(after time.Duration, id string, detail obj) {
		clock = clock.Add(after)
		rows = append(rows, obj{{"exportId", pollURL}, {"timestamp", clock.Format(layoutInstant)},
			{"eventId", id}, {"eventDetail", detail}})
	}
	event(0, "kickoff", obj{
		{"exportUrl", exportURL + "?" + url.Values{"_type": {types}}.Encode()},
		{"softwareName", "Example EHR"}, {"softwareVersion", "2024.1"}, {"softwareReleaseDate", "2024-02-01"},
		{"fhirVersion", "4.0.1"},
		{"requestParameters", obj{{"_type", types}}},
		{"errorCode", null{}}, {"errorBody", null{}},
		{"responseHeaders", obj{{"content-location", pollURL}}},
	})
	rows[0] = append(rows[0], field{"_client", "cumulus-etl"}, field{"_clientVersion", "2.0.0"})
	txt := g.tx.Format(layoutInstant)
	counts := map[string]int{}
	for _, f := range files {
		counts[f.itemType]++
	}
	event(95*time.Second, "status_complete", obj{{"transactionTime", txt}})
	event(0, "status_page_complete", obj{{"transactionTime", txt}, {"outputFileCount", counts["output"]},
		{"deletedFileCount", counts["deleted"]}, {"errorFileCount", counts["error"]}})
	event(0, "manifest_complete", obj{{"transactionTime", txt}, {"totalOutputFileCount", counts["output"]},
		{"totalDeletedFileCount", counts["deleted"]}, {"totalErrorFileCount", counts["error"]}, {"totalManifests", 1}})
	var resources int
	var bytes int64
	for _, f := range files {
		fileURL := fhirBase + "/bulk-files/" + job + "/" + strings.TrimSuffix(path.Base(f.rel), ".gz")
		event(10*time.Millisecond, "download_request", obj{{"fileUrl", fileURL}, {"itemType", f.itemType},
			{"resourceType", f.resourceType}})
		event(250*time.Millisecond, "download_complete", obj{{"fileUrl", fileURL}, {"resourceCount", f.lines},
			{"fileSize", int(f.bytes)}})
		resources += f.lines
		bytes += f.bytes
	}
	event(5*time.Millisecond, "export_complete", obj{{"files", len(files)}, {"resources", resources},
		{"bytes", int(bytes)}, {"attachments", null{}}, {"duration", int(clock.Sub(start).Milliseconds())}})

	f, err := fileout.Create(logPath)
	if err != nil {
		return err
	}
	var buf []byte
	for _, r := range rows {
		buf = append(appendJSON(buf, r), '\n')
	}
	if _, err := f.Write(buf); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
