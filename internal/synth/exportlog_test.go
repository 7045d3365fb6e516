package synth

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var relativeRef = regexp.MustCompile(`^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$`)

// walkStrings calls fn for every string value in v with the key that holds it.
func walkStrings(v any, key string, fn func(key, s string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			walkStrings(e, k, fn)
		}
	case []any:
		for _, e := range v {
			walkStrings(e, key, fn)
		}
	case string:
		fn(key, v)
	}
}

func TestReferencesResolveToWrittenResources(t *testing.T) {
	dir, _ := generate(t, Options{Patients: 5, Seed: 4})
	files := readTree(t, dir)
	ids := map[string]bool{}
	var resources []map[string]any
	for _, typ := range allTypes() {
		for _, r := range lines(t, typ, files[typ+".000.ndjson"]) {
			ids[typ+"/"+r["id"].(string)] = true
			resources = append(resources, r)
		}
	}
	checked := 0
	for _, r := range resources {
		contained := map[string]bool{}
		for _, c := range asSlice(r["contained"]) {
			contained["#"+c.(map[string]any)["id"].(string)] = true
		}
		walkStrings(r, "", func(key, s string) {
			if key != "reference" {
				return
			}
			checked++
			if strings.HasPrefix(s, "#") && !contained[s] {
				t.Errorf("%s/%s: local reference %s has no contained resource", r["resourceType"], r["id"], s)
			}
			if !strings.HasPrefix(s, "#") && (!relativeRef.MatchString(s) || !ids[s]) {
				t.Errorf("%s/%s: reference %s does not resolve", r["resourceType"], r["id"], s)
			}
		})
	}
	if checked < 100 {
		t.Errorf("only %d references checked", checked)
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func TestDeletedBundleListsPresentResources(t *testing.T) {
	dir, m := generate(t, Options{Patients: 3, Seed: 2})
	files := readTree(t, dir)
	bundle := lines(t, "deleted", files["deleted/Bundle.000.ndjson"])
	if len(bundle) != 1 || bundle[0]["type"] != "transaction" {
		t.Fatalf("deleted file: want one transaction Bundle, got %v", bundle)
	}
	var urls []string
	for _, e := range asSlice(bundle[0]["entry"]) {
		req := e.(map[string]any)["request"].(map[string]any)
		if req["method"] != "DELETE" {
			t.Errorf("entry method %v, want DELETE", req["method"])
		}
		urls = append(urls, req["url"].(string))
	}
	if strings.Join(urls, " ") != strings.Join(m.Deleted, " ") || strings.Count(strings.Join(urls, " "), "Condition/") != 2 {
		t.Errorf("deleted urls %v, manifest %v; want 2 Conditions", urls, m.Deleted)
	}
	for _, u := range urls {
		typ, id, _ := strings.Cut(u, "/")
		if !strings.Contains(string(files[typ+".000.ndjson"]), `"id":"`+id+`"`) {
			t.Errorf("deleted %s is not in the output", u)
		}
	}
}

func TestErrorFileHasOneWarningAndNoFatalIssues(t *testing.T) {
	dir, _ := generate(t, Options{Patients: 1, Seed: 2})
	oo := lines(t, "error", readTree(t, dir)["error/OperationOutcome.000.ndjson"])
	if len(oo) != 1 || oo[0]["resourceType"] != "OperationOutcome" {
		t.Fatalf("want one OperationOutcome, got %v", oo)
	}
	issues := asSlice(oo[0]["issue"])
	if len(issues) != 1 || issues[0].(map[string]any)["severity"] != "warning" {
		t.Errorf("want exactly one warning issue, got %v", issues)
	}
}

func TestLogFollowsBulkDataClientFormat(t *testing.T) {
	tx := time.Date(2022, 3, 4, 5, 6, 7, 0, time.UTC)
	dir, m := generate(t, Options{Patients: 2, Seed: 2, TransactionTime: tx, Gzip: true})
	files := readTree(t, dir)
	rows := lines(t, "log.ndjson", files["log.ndjson"])
	var events []string
	downloads := map[string]float64{}
	for _, r := range rows {
		ev := r["eventId"].(string)
		events = append(events, ev)
		d := r["eventDetail"].(map[string]any)
		switch ev {
		case "kickoff":
			u, err := url.Parse(d["exportUrl"].(string))
			if err != nil || u.Path != "/fhir/Group/demo-group/$export" || !strings.Contains(u.Query().Get("_type"), "Patient") {
				t.Errorf("kickoff exportUrl %v", d["exportUrl"])
			}
		case "status_complete":
			got, err := time.Parse(time.RFC3339, d["transactionTime"].(string))
			if err != nil || !got.Equal(tx) {
				t.Errorf("transactionTime %v, want %v", d["transactionTime"], tx)
			}
		case "download_complete":
			name := d["fileUrl"].(string)
			downloads[name[strings.LastIndex(name, "/")+1:]] = d["resourceCount"].(float64)
		}
	}
	want := []string{"kickoff", "status_complete", "status_page_complete", "manifest_complete"}
	if !slicesHavePrefix(events, want) || events[len(events)-1] != "export_complete" {
		t.Errorf("events %v, want %v ... export_complete", events, want)
	}
	if len(downloads) != len(allTypes())+2 {
		t.Errorf("%d download_complete events, want one per file (%d)", len(downloads), len(allTypes())+2)
	}
	for typ, n := range m.Counts {
		if downloads[typ+".000.ndjson"] != float64(n) {
			t.Errorf("%s: log resourceCount %v, want %d", typ, downloads[typ+".000.ndjson"], n)
		}
	}
}

func slicesHavePrefix(s, prefix []string) bool {
	return len(s) >= len(prefix) && strings.Join(s[:len(prefix)], ",") == strings.Join(prefix, ",")
}
