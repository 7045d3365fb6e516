package etl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// testSalt is the codebook salt the tests plant, so expected research ids can be computed here.
const testSalt = "31323334"

func fakeID(id string) string {
	salt, _ := hex.DecodeString(testSalt)
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// fixture is an ETL run's folders.
type fixture struct {
	in, out, phi string
	cfg          Config
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{in: filepath.Join(root, "in"), out: filepath.Join(root, "out"), phi: filepath.Join(root, "phi")}
	for name, content := range files {
		writeTestFile(t, filepath.Join(f.in, name), content)
	}
	writeTestFile(t, filepath.Join(f.phi, "codebook.json"),
		`{"version": 1, "id_salt": "`+testSalt+`", "codebook_id": "11111111-2222-3333-4444-555555555555"}`)
	f.cfg = Config{OutputFormat: "ndjson", InputDir: f.in, OutputDir: f.out, PHIDir: f.phi, ExportGroup: "g1",
		ExportTimestamp: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), TempDir: t.TempDir(),
		Now: func() time.Time { return time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC) }, Version: "test"}
	return f
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T) (*Report, error) {
	t.Helper()
	return Run(context.Background(), f.cfg)
}

// rows reads every row of an output table, parsed.
func (f *fixture) rows(t *testing.T, table string) []map[string]any {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(f.out, table, "*.ndjson"))
	sort.Strings(paths)
	var out []map[string]any
	for _, p := range paths {
		file, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		sc.Buffer(nil, 1<<30)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			out = append(out, m)
		}
		file.Close()
	}
	return out
}

func ids(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r["id"].(string))
	}
	sort.Strings(out)
	return out
}

func sortedFakes(raw ...string) []string {
	var out []string
	for _, r := range raw {
		out = append(out, fakeID(r))
	}
	sort.Strings(out)
	return out
}

func condition(id, status string) string {
	return `{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/p1"},"clinicalStatus":{"text":"` + status + `"}}`
}

func TestRun_LastCopyOfAnIDWins(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Condition.000.ndjson": condition("c1", "first") + "\n" + condition("c2", "only") + "\n",
		"Condition.001.ndjson": condition("c1", "second") + "\n",
	})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	rep, err := f.run(t)
	if err != nil {
		t.Fatal(err)
	}
	rows := f.rows(t, "condition")
	if got, want := ids(rows), sortedFakes("c1", "c2"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	for _, r := range rows {
		if r["id"] == fakeID("c1") && r["clinicalStatus"].(map[string]any)["text"] != "second" {
			t.Errorf("c1 kept the first copy: %v", r)
		}
	}
	if s := rep.Summaries[0]; s.Attempt != 3 || s.Written != 2 || s.Duplicates != 1 {
		t.Errorf("summary = %+v", s)
	}
}

func TestRun_DeletedIDsAreRemoved(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Condition.ndjson": condition("c1", "a") + "\n" + condition("c2", "b") + "\n",
		"deleted/Bundle.000.ndjson": `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"request":{"method":"DELETE","url":"Condition/c2"}}]}` + "\n",
	})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	rep, err := f.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(f.rows(t, "condition")); len(got) != 1 || got[0] != fakeID("c1") {
		t.Fatalf("ids = %v, want only c1", got)
	}
	if rep.Summaries[0].Deleted != 1 {
		t.Errorf("deleted = %d, want 1", rep.Summaries[0].Deleted)
	}
}

func TestRun_BadRowsAreRejectedWithFileAndLine(t *testing.T) {
	cases := []struct {
		name, line, wantMsg string
	}{
		{"not JSON", `{"resourceType": "Condition", "id": `, "not valid JSON"},
		{"not an object", `["Condition"]`, "not a JSON object"},
		{"missing id", `{"resourceType":"Condition"}`, "no id"},
		{"resourceType contradicts file name", `{"resourceType":"Patient","id":"x"}`, `resourceType "Patient" in a Condition file`},
		{"invalid UTF-8", "{\"resourceType\":\"Condition\",\"id\":\"x\xff\"}", "not valid UTF-8"},
		{"trailing data", `{"resourceType":"Condition","id":"x"} {}`, "after top-level value"},
		{"a repeated key (issue 11, item 4)", `{"resourceType":"Condition","id":"x","code":{"text":"flu","text":"Jane"}}`, "repeats a key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{
				"Condition.ndjson": condition("good", "a") + "\n\n" + tc.line + "\n",
			})
			f.cfg.Tasks = []Task{{"condition", "Condition"}}
			f.cfg.ErrorsTo = filepath.Join(t.TempDir(), "errors")
			rep, err := f.run(t)
			if !errors.Is(err, ErrTasksFailed) {
				t.Fatalf("err = %v, want ErrTasksFailed", err)
			}
			s := rep.Summaries[0]
			if s.Rejected != 1 || s.Written != 1 || len(s.Errors) != 1 {
				t.Fatalf("summary = %+v", s)
			}
			wantPrefix := filepath.Join(f.in, "Condition.ndjson") + ":3: "
			if !strings.HasPrefix(s.Errors[0], wantPrefix) || !strings.Contains(s.Errors[0], tc.wantMsg) {
				t.Errorf("error = %q, want prefix %q and %q", s.Errors[0], wantPrefix, tc.wantMsg)
			}
			raw, err := os.ReadFile(filepath.Join(f.cfg.ErrorsTo, "condition", "rejected.ndjson"))
			if err != nil || string(raw) != tc.line+"\n" {
				t.Errorf("--errors-to holds %q (%v), want the raw row", raw, err)
			}
		})
	}
}

func TestRun_LineEndingsBOMAndBlankLinesAreFine(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Condition.ndjson": "\ufeff" + condition("c1", "a") + "\r\n\r\n   \n" + condition("c2", "b") + "\r\n",
	})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	if got := ids(f.rows(t, "condition")); len(got) != 2 {
		t.Fatalf("ids = %v", got)
	}
}

func TestRun_HugeLine(t *testing.T) {
	note := strings.Repeat("A", 70<<20)
	big := `{"resourceType":"DocumentReference","id":"d1","status":"current","content":[{"attachment":{"contentType":"text/plain","data":"` + note + `"}}]}`
	f := newFixture(t, map[string]string{"DocumentReference.ndjson": big + "\n"})
	f.cfg.Tasks = []Task{{"documentreference", "DocumentReference"}}
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	rows := f.rows(t, "documentreference")
	if len(rows) != 1 {
		t.Fatalf("rows = %d", len(rows))
	}
	att := rows[0]["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
	if _, ok := att["data"]; ok {
		t.Errorf("attachment data was not masked")
	}
}

func TestRun_BatchSizeSplitsFiles(t *testing.T) {
	var b strings.Builder
	for i := range 5 {
		b.WriteString(condition("c"+string(rune('a'+i)), "x") + "\n")
	}
	f := newFixture(t, map[string]string{"Condition.ndjson": b.String()})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	f.cfg.BatchSize = 2
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(f.out, "condition", "*"))
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if strings.Join(names, ",") != "condition.000.ndjson,condition.001.ndjson,condition.002.ndjson" {
		t.Errorf("files = %v", names)
	}
}

func TestRun_RefusesOutputOfAnotherCodebook(t *testing.T) {
	f := newFixture(t, map[string]string{"Condition.ndjson": condition("c1", "a") + "\n"})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(f.phi, "codebook.json"),
		`{"version": 1, "id_salt": "abcd", "codebook_id": "99999999-2222-3333-4444-555555555555"}`)
	f.cfg.Now = func() time.Time { return time.Date(2024, 6, 2, 8, 30, 0, 0, time.UTC) }
	if _, err := f.run(t); !errors.Is(err, ErrWrongPHIFolder) {
		t.Fatalf("err = %v, want ErrWrongPHIFolder", err)
	}
	// A new, empty PHI folder is refused too, and is left without a codebook.
	f.cfg.PHIDir = filepath.Join(t.TempDir(), "new-phi")
	if _, err := f.run(t); !errors.Is(err, ErrWrongPHIFolder) {
		t.Fatalf("err = %v, want ErrWrongPHIFolder", err)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.PHIDir, "codebook.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused run created a codebook (%v)", err)
	}
}

func TestRun_CreatesCodebookPrivately(t *testing.T) {
	f := newFixture(t, map[string]string{"Condition.ndjson": condition("c1", "a") + "\n"})
	os.Remove(filepath.Join(f.phi, "codebook.json"))
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(f.phi, "codebook.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("codebook mode = %v, want 0600", st.Mode().Perm())
	}
	var cb map[string]any
	data, _ := os.ReadFile(filepath.Join(f.phi, "codebook.json"))
	if err := json.Unmarshal(data, &cb); err != nil || cb["version"] != json.Number("1") && cb["version"] != float64(1) {
		t.Errorf("codebook = %s (%v)", data, err)
	}
	if salt, _ := cb["id_salt"].(string); len(salt) != 64 {
		t.Errorf("id_salt %q is not 64 hex digits", salt)
	}
}

func TestRun_CompletionTables(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Encounter.ndjson": `{"resourceType":"Encounter","id":"e1","status":"finished"}` + "\n",
		"Condition.ndjson": condition("c1", "a") + "\n",
	})
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	comp := f.rows(t, completionTable)
	if len(comp) != 2 {
		t.Fatalf("etl__completion rows = %v", comp)
	}
	want := map[string]any{"table_name": "encounter", "group_name": "g1", "export_time": "2024-05-01T12:00:00+00:00",
		"export_url": "", "etl_version": "test", "etl_time": "2024-06-01T08:30:00+00:00"}
	for k, v := range want {
		if comp[0][k] != v {
			t.Errorf("etl__completion[0][%s] = %v, want %v", k, comp[0][k], v)
		}
	}
	enc := f.rows(t, completionEncountersTable)
	if len(enc) != 1 || enc[0]["encounter_id"] != fakeID("e1") || enc[0]["export_time"] != "2024-05-01T12:00:00+00:00" {
		t.Fatalf("etl__completion_encounters = %v", enc)
	}

	// A second run of a later export keeps the encounter's first export time and appends to the log.
	f.cfg.ExportTimestamp = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	f.cfg.Now = func() time.Time { return time.Date(2024, 7, 2, 0, 0, 0, 0, time.UTC) }
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	if comp := f.rows(t, completionTable); len(comp) != 4 {
		t.Errorf("etl__completion has %d rows after two runs, want 4", len(comp))
	}
	if enc := f.rows(t, completionEncountersTable); len(enc) != 1 || enc[0]["export_time"] != "2024-05-01T12:00:00+00:00" {
		t.Errorf("etl__completion_encounters after second run = %v", enc)
	}
}

func TestRun_CompletionInfoIsRequired(t *testing.T) {
	f := newFixture(t, map[string]string{"Condition.ndjson": condition("c1", "a") + "\n"})
	f.cfg.ExportGroup, f.cfg.ExportTimestamp = "", time.Time{}
	if _, err := f.run(t); !errors.Is(err, ErrCompletionInfoMissing) {
		t.Fatalf("err = %v, want ErrCompletionInfoMissing", err)
	}
}

func TestRun_TaskSelection(t *testing.T) {
	cases := []struct {
		name     string
		tasks    []Task
		explicit bool
		allow    bool
		wantErr  error
		want     []string
	}{
		{"default tasks skip absent types", nil, false, false, nil, []string{"condition"}},
		{"explicit task without input is an error", []Task{{"patient", "Patient"}}, true, false, ErrMissingResources, nil},
		{"explicit task without input allowed", []Task{{"patient", "Patient"}}, true, true, nil, []string{"patient"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"Condition.ndjson": condition("c1", "a") + "\n"})
			f.cfg.Tasks, f.cfg.ExplicitTasks, f.cfg.AllowMissingResources = tc.tasks, tc.explicit, tc.allow
			rep, err := f.run(t)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var got []string
			for _, s := range rep.Summaries {
				got = append(got, s.Label)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("tasks run = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectTasks(t *testing.T) {
	got, err := SelectTasks([]string{"patient,condition", "encounter"})
	if err != nil {
		t.Fatal(err)
	}
	if taskNames(got) != "encounter,patient,condition" {
		t.Errorf("tasks = %s, want run order encounter,patient,condition", taskNames(got))
	}
	if _, err := SelectTasks([]string{"nope"}); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("err = %v, want ErrUnknownTask", err)
	}
}

func TestRun_NoCompletionRowForATableWithRejectedRows(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Condition.ndjson": condition("c1", "a") + "\nnot json\n",
		"Patient.ndjson":   `{"resourceType":"Patient","id":"p1"}` + "\n",
	})
	if _, err := f.run(t); !errors.Is(err, ErrTasksFailed) {
		t.Fatalf("err = %v, want ErrTasksFailed", err)
	}
	rows := f.rows(t, completionTable)
	if len(rows) != 1 || rows[0]["table_name"] != "patient" {
		t.Errorf("etl__completion = %v, want only patient", rows)
	}
	if got := ids(f.rows(t, "condition")); len(got) != 1 {
		t.Errorf("the good condition row was not written: %v", got)
	}
}

func TestRun_TruncatedFileKeepsThePreviousTable(t *testing.T) {
	f := newFixture(t, map[string]string{"Condition.ndjson": condition("c1", "a") + "\n" + condition("c2", "b") + "\n"})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	if _, err := f.run(t); err != nil {
		t.Fatal(err)
	}
	// The next export's file is a gzip stream cut short.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(condition("c3", "c")+"\n", 200)))
	zw.Close()
	os.Remove(filepath.Join(f.in, "Condition.ndjson"))
	writeTestFile(t, filepath.Join(f.in, "Condition.ndjson.gz"), string(gz.Bytes()[:gz.Len()/2]))
	f.cfg.Now = func() time.Time { return time.Date(2024, 6, 2, 8, 30, 0, 0, time.UTC) }
	if _, err := f.run(t); !errors.Is(err, ErrTasksFailed) {
		t.Fatalf("err = %v, want ErrTasksFailed", err)
	}
	if got := ids(f.rows(t, "condition")); strings.Join(got, ",") != strings.Join(sortedFakes("c1", "c2"), ",") {
		t.Errorf("condition table = %v, want the previous run's c1 and c2", got)
	}
}

func TestRun_StrayFileIsReportedAndFailsTheRunButNotTheOthers(t *testing.T) {
	f := newFixture(t, map[string]string{
		"Condition.ndjson": condition("c1", "a") + "\n",
		"notes.ndjson":     `{"foo":1}` + "\n",
	})
	f.cfg.Tasks = []Task{{"condition", "Condition"}}
	rep, err := f.run(t)
	if !errors.Is(err, ErrTasksFailed) {
		t.Fatalf("err = %v, want ErrTasksFailed", err)
	}
	if len(rep.Unknown) != 1 || !strings.Contains(rep.Unknown[0].Error(), "notes.ndjson") {
		t.Errorf("unknown files = %v", rep.Unknown)
	}
	if got := ids(f.rows(t, "condition")); len(got) != 1 {
		t.Errorf("the condition table was not written: %v", got)
	}
}
