package readback

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntheaConditions reads synthea-60's Condition resources as raw JSON lines.
func syntheaConditions(t *testing.T) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(synthea(t), "Condition.000.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func writeNDJSON(t *testing.T, path string, rows ...map[string]any) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func byID(rows []any) map[string]any {
	m := map[string]any{}
	for _, r := range rows {
		m[r.(map[string]any)["id"].(string)] = r
	}
	return m
}

// Issue 7, "Done means": a second run over changed input (some resources changed, with a field
// that needs new columns, some new, some in deleted/) updates the Delta table in place: no
// duplicate live ids, changed rows changed, deleted rows gone, rows the run does not mention kept.
func TestSecondRunUpsertsIntoTheDeltaTable(t *testing.T) {
	root := t.TempDir()
	phi := filepath.Join(root, "phi")
	conditions := syntheaConditions(t)
	var changed, deleted []map[string]any
	for i, c := range conditions {
		switch {
		case i%10 == 0: // 10% changed, with a stage (new nested columns)
			c["recordedDate"] = "2030-01-01"
			c["stage"] = []any{map[string]any{"summary": map[string]any{"text": fmt.Sprint("stage ", i)}}}
			changed = append(changed, c)
		case i%10 == 5 && len(deleted) < 5:
			deleted = append(deleted, c)
		}
	}
	for i := range 7 { // new ones
		n := map[string]any{}
		for k, v := range conditions[1] {
			n[k] = v
		}
		n["id"] = fmt.Sprint("brand-new-", i)
		changed = append(changed, n)
	}
	second := filepath.Join(root, "second")
	writeNDJSON(t, filepath.Join(second, "Condition.ndjson"), changed...)
	var bundle []any
	for _, d := range deleted {
		bundle = append(bundle, map[string]any{"request": map[string]any{"method": "DELETE", "url": "Condition/" + d["id"].(string)}})
	}
	writeNDJSON(t, filepath.Join(second, "deleted", "Bundle.ndjson"), map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": bundle})
	probe := filepath.Join(root, "probe") // the deleted resources alone: their de-identified ids
	writeNDJSON(t, filepath.Join(probe, "Condition.ndjson"), deleted...)

	runETL(t, "ndjson", synthea(t), filepath.Join(root, "nd1"), phi)
	runETL(t, "ndjson", second, filepath.Join(root, "nd2"), phi)
	runETL(t, "ndjson", probe, filepath.Join(root, "nd-probe"), phi)
	out := filepath.Join(root, "delta")
	runETL(t, "deltalake", synthea(t), out, phi)
	runETL(t, "deltalake", second, out, phi)

	want := byID(ndjsonRows(t, filepath.Join(root, "nd1", "condition")))
	before := len(want)
	for id, r := range byID(ndjsonRows(t, filepath.Join(root, "nd2", "condition"))) {
		want[id] = r
	}
	for id := range byID(ndjsonRows(t, filepath.Join(root, "nd-probe", "condition"))) {
		if _, ok := want[id]; !ok {
			t.Fatalf("deleted id %s was not in the first run", id)
		}
		delete(want, id)
	}
	if len(want) != before+7-5 {
		t.Fatalf("expected %d rows, the oracle has %d", before+7-5, len(want))
	}
	var wantRows []any
	for _, r := range want {
		wantRows = append(wantRows, r)
	}
	db := openDuckDB(t)
	got := deltaRows(t, db, out, "condition")
	sameRows(t, "condition after the second run", got, wantRows)
	stages := 0
	for _, r := range got {
		if _, ok := r.(map[string]any)["stage"]; ok {
			stages++
		}
	}
	if want := (len(conditions) + 9) / 10; stages != want { // the changed rows
		t.Errorf("%d rows with a stage, want %d", stages, want)
	}
	if _, err := os.Stat(filepath.Join(out, "condition", "_delta_log", "00000000000000000001.json")); err != nil {
		t.Errorf("the second run did not commit version 1: %v", err)
	}
}

// TestDeletionsOfATypeWithoutFilesAreApplied: an export --since in which a Condition was deleted
// and none changed has a deleted/ entry for Condition but no Condition file; the row it names
// must leave the Delta table all the same (it stayed published before).
func TestDeletionsOfATypeWithoutFilesAreApplied(t *testing.T) {
	conditions := syntheaConditions(t)[:3]
	root := t.TempDir()
	first, second, out, phi := filepath.Join(root, "first"), filepath.Join(root, "second"), filepath.Join(root, "out"), filepath.Join(root, "phi")
	writeNDJSON(t, filepath.Join(first, "Condition.000.ndjson"), conditions...)
	runETL(t, "deltalake", first, out, phi)
	writeNDJSON(t, filepath.Join(second, "Patient.000.ndjson"), map[string]any{"resourceType": "Patient", "id": "p1"})
	writeNDJSON(t, filepath.Join(second, "deleted", "Bundle.000.ndjson"), map[string]any{"resourceType": "Bundle", "type": "transaction",
		"entry": []any{map[string]any{"request": map[string]any{"method": "DELETE", "url": "Condition/" + conditions[1]["id"].(string)}}}})
	runETL(t, "deltalake", second, out, phi)
	db := openDuckDB(t)
	if rows := deltaRows(t, db, out, "condition"); len(rows) != 2 {
		t.Errorf("condition table holds %d rows after deleting 1 of 3, want 2", len(rows))
	}
}
