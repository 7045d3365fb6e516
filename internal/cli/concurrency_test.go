package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"cumulus-etl/internal/cli/clitest"
	"cumulus-etl/internal/deid"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/store"
)

// Issue 10 items 1-3 and 7-8: real processes of the built binary, started together many times.

// runTogether starts every argument list as a process of the binary at once and waits for all.
func runTogether(t *testing.T, env []string, argLists ...[]string) []clitest.Result {
	t.Helper()
	bin := clitest.Binary(t)
	results := make([]clitest.Result, len(argLists))
	var wg sync.WaitGroup
	for i, args := range argLists {
		// ndjson: these tests read the tables' rows as files.
		cmd := exec.Command(bin, slices.Concat(args, []string{"--output-format", "ndjson"})...)
		cmd.Env = append(os.Environ(), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cmd.Wait()
			var exitErr *exec.ExitError
			if err != nil && !errors.As(err, &exitErr) {
				t.Errorf("running cumulus-etl: %v", err)
			}
			results[i] = clitest.Result{Code: cmd.ProcessState.ExitCode(), Stdout: out.String(), Stderr: errOut.String()}
		}()
	}
	wg.Wait()
	return results
}

// readCodebook parses PHI/codebook.json.
func readCodebook(t *testing.T, phi string) *deid.Codebook {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(phi, "codebook.json"))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := deid.ParseCodebook(data, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// tableRows returns the rows of OUTPUT/<table>/*.ndjson, each decoded.
func tableRows(t *testing.T, output, table string) []map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(output, table, "*.ndjson"))
	var rows []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var row map[string]any
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// realIDs lists the ids of the resources in an ndjson file.
func realIDs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var r struct{ ID string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// checkHashedWith fails unless every patient row of OUTPUT carries an id made with cb's salt.
func checkHashedWith(t *testing.T, output string, cb *deid.Codebook) {
	t.Helper()
	want := map[string]bool{}
	for _, id := range realIDs(t, filepath.Join(inputtest.SampleExport(t), "Patient.000.ndjson")) {
		want[cb.FakeID("Patient", id)] = true
	}
	rows := tableRows(t, output, "patient")
	if len(rows) == 0 {
		t.Fatal("no patient rows")
	}
	for _, row := range rows {
		if !want[row["id"].(string)] {
			t.Fatalf("patient %v was hashed with another salt than codebook %s's", row["id"], cb.ID())
		}
	}
}

// jobCodebookIDs returns the codebook id of every job config in OUTPUT.
func jobCodebookIDs(t *testing.T, output string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(output, "JobConfig", "*", "job_config.json"))
	var ids []string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var jc struct {
			CodebookID string `json:"codebook_id"`
		}
		if err := json.Unmarshal(data, &jc); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, jc.CodebookID)
	}
	return ids
}

func mustSucceed(t *testing.T, results []clitest.Result) {
	t.Helper()
	for i, r := range results {
		if r.Code != 0 {
			t.Fatalf("run %d exited %d:\n%s", i, r.Code, r.Stderr)
		}
	}
}

// TestConcurrentFirstRuns_Item1_OneSaltEver: four first runs at once into one OUTPUT with one new
// PHI folder, six times over: all finish (waiting their turn for the tables), one codebook, and
// every table and job hashed with its salt.
func TestConcurrentFirstRuns_Item1_OneSaltEver(t *testing.T) {
	sample := inputtest.SampleExport(t)
	for round := range 6 {
		dir := t.TempDir()
		out, phi := filepath.Join(dir, "out"), filepath.Join(dir, "phi")
		args := []string{sample, out, phi, "--lock-wait", "5m", "--task", "patient,condition"}
		mustSucceed(t, runTogether(t, nil, args, args, args, args))
		cb := readCodebook(t, phi)
		for _, id := range jobCodebookIDs(t, out) {
			if id != cb.ID() {
				t.Fatalf("round %d: a job used codebook %s, PHI holds %s", round, id, cb.ID())
			}
		}
		checkHashedWith(t, out, cb)
	}
}

// TestConcurrentRunsWithTwoPHIFolders_Item2_NeverMix: two runs at once into one OUTPUT with
// different PHI folders, five times over: exactly one writes; the other is refused (41) once it
// gets its turn, so OUTPUT holds one codebook's ids.
func TestConcurrentRunsWithTwoPHIFolders_Item2_NeverMix(t *testing.T) {
	sample := inputtest.SampleExport(t)
	for round := range 5 {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		phis := []string{filepath.Join(dir, "phi-a"), filepath.Join(dir, "phi-b")}
		results := runTogether(t, nil,
			[]string{sample, out, phis[0], "--lock-wait", "5m", "--task", "patient"},
			[]string{sample, out, phis[1], "--lock-wait", "5m", "--task", "patient"})
		var winner string
		for i, r := range results {
			switch r.Code {
			case 0:
				if winner != "" {
					t.Fatalf("round %d: both runs wrote OUTPUT", round)
				}
				winner = phis[i]
			case 41:
				if !strings.Contains(r.Stderr, "different PHI folder") {
					t.Errorf("round %d: exit 41 without saying why:\n%s", round, r.Stderr)
				}
			default:
				t.Fatalf("round %d: run %d exited %d:\n%s", round, i, r.Code, r.Stderr)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: neither run wrote", round)
		}
		cb := readCodebook(t, winner)
		if ids := jobCodebookIDs(t, out); len(ids) != 1 || ids[0] != cb.ID() {
			t.Errorf("round %d: jobs %q, want one with the winner's codebook %s", round, ids, cb.ID())
		}
		checkHashedWith(t, out, cb)
	}
}

// TestRunsSplitByTask_Item3_EveryCompletionRowLands: runs split by --task at once into one OUTPUT
// and one PHI, four times over: all exit 0 and etl__completion has a row for every table.
func TestRunsSplitByTask_Item3_EveryCompletionRowLands(t *testing.T) {
	sample := inputtest.SampleExport(t)
	tasks := []string{"encounter", "patient", "condition", "observation", "procedure", "immunization"}
	for round := range 4 {
		dir := t.TempDir()
		out, phi := filepath.Join(dir, "out"), filepath.Join(dir, "phi")
		var argLists [][]string
		for _, task := range tasks {
			argLists = append(argLists, []string{sample, out, phi, "--task", task})
		}
		mustSucceed(t, runTogether(t, nil, argLists...))
		var got []string
		for _, row := range tableRows(t, out, "etl__completion") {
			got = append(got, row["table_name"].(string))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tasks))
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: etl__completion lists %q, want %q", round, got, want)
		}
		if len(tableRows(t, out, "etl__completion_encounters")) == 0 {
			t.Errorf("round %d: etl__completion_encounters is empty", round)
		}
		checkHashedWith(t, out, readCodebook(t, phi))
	}
}

// TestTableLockedByLiveRun_Item2_RefusedNamingIt: a run whose table another live run is writing
// exits 60 at once, naming that run (host, pid, start time), and writes nothing.
func TestTableLockedByLiveRun_Item2_RefusedNamingIt(t *testing.T) {
	dir := t.TempDir()
	out, phi := filepath.Join(dir, "out"), filepath.Join(dir, "phi")
	ctx := context.Background()
	held, err := store.Acquire(ctx, store.NewLocal(out, store.Options{}), "table-patient", store.LockOptions{Purpose: "etl: writing table patient"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	r := clitest.Run(t, "", inputtest.SampleExport(t), out, phi, "--task", "patient,condition", "--output-format", "ndjson")
	if r.Code != 60 {
		t.Fatalf("exit %d, want 60:\n%s", r.Code, r.Stderr)
	}
	owner := held.Owner()
	for _, want := range []string{fmt.Sprintf("pid %d", owner.PID), owner.Host, "started " + owner.Acquired.Format("2006-01-02T15:04:05"), "table patient"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("message does not name %q:\n%s", want, r.Stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "condition")); !os.IsNotExist(err) {
		t.Errorf("a refused run wrote a table: %v", err)
	}
	if _, err := os.Stat(filepath.Join(phi, "codebook.json")); !os.IsNotExist(err) {
		t.Errorf("a refused run made a codebook: %v", err)
	}
}

// TestUserFileInTableFolder_Item7_Refused: a file of the user's in a table folder is never
// deleted by replacing the table: the run exits 62 naming it and writes nothing.
func TestUserFileInTableFolder_Item7_Refused(t *testing.T) {
	dir := t.TempDir()
	out, phi := filepath.Join(dir, "out"), filepath.Join(dir, "phi")
	sample := inputtest.SampleExport(t)
	if r := clitest.Run(t, "", sample, out, phi, "--task", "patient", "--output-format", "ndjson"); r.Code != 0 {
		t.Fatalf("first run exited %d:\n%s", r.Code, r.Stderr)
	}
	notes := filepath.Join(out, "patient", "my-notes.txt")
	if err := os.WriteFile(notes, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tableRows(t, out, "patient")
	r := clitest.Run(t, "", sample, out, phi, "--task", "patient", "--output-format", "ndjson")
	if r.Code != 62 || !strings.Contains(r.Stderr, notes) {
		t.Fatalf("exit %d, want 62 naming %s:\n%s", r.Code, notes, r.Stderr)
	}
	if data, err := os.ReadFile(notes); err != nil || string(data) != "keep me" {
		t.Errorf("the user's file is gone or changed: %q, %v", data, err)
	}
	if after := tableRows(t, out, "patient"); len(after) != len(before) {
		t.Errorf("the table changed: %d rows, was %d", len(after), len(before))
	}
}
