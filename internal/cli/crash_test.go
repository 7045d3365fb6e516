package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/cli/clitest"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/synth"
)

// tableFile is the only name a table folder may show: <table>.NNN.ndjson.
var tableFile = regexp.MustCompile(`^([a-z_]+)\.[0-9]{3,}\.ndjson$`)

// shellGlob is filepath.Glob without hidden names, as a shell's * matches.
func shellGlob(pattern string) []string {
	found, _ := filepath.Glob(pattern)
	var out []string
	for _, f := range found {
		if !strings.HasPrefix(filepath.Base(f), ".") {
			out = append(out, f)
		}
	}
	return out
}

// checkOnlyWholeTables fails unless OUTPUT shows (to a shell glob, which skips hidden names) only
// table folders holding whole tables of rows[table] rows, and JobConfig. etl__completion is a log
// that grows by a whole run's rows.
func checkOnlyWholeTables(t *testing.T, out string, rows map[string]int) {
	t.Helper()
	for _, dir := range shellGlob(filepath.Join(out, "*")) {
		table := filepath.Base(dir)
		if table == "JobConfig" {
			continue
		}
		want, ok := rows[table]
		if !ok {
			t.Errorf("OUTPUT shows %s, which is no table", table)
			continue
		}
		for _, f := range shellGlob(filepath.Join(dir, "*")) {
			if m := tableFile.FindStringSubmatch(filepath.Base(f)); m == nil || m[1] != table {
				t.Errorf("table folder %s shows %s", table, filepath.Base(f))
			}
		}
		got := len(tableRows(t, out, table))
		if table == "etl__completion" && got%want == 0 {
			continue
		}
		if got != want {
			t.Errorf("table %s shows %d rows, a whole table has %d", table, got, want)
		}
	}
}

// scratchFolders lists the run scratch folders in dir.
func scratchFolders(t *testing.T, dir string) []string {
	t.Helper()
	found, _ := filepath.Glob(filepath.Join(dir, "*cumulus-etl-*"))
	return found
}

// TestKilledRun_Item8_NothingVisibleAndNextRunCleansUp: a run killed with kill -9 at six points
// of its work leaves OUTPUT showing whole tables only (the previous ones), and the next run starts
// at once (the dead run's locks are taken over), succeeds, and removes everything the dead run
// left in OUTPUT and in the temporary folder.
func TestKilledRun_Item8_NothingVisibleAndNextRunCleansUp(t *testing.T) {
	dir := t.TempDir()
	in, out, phi, tmp := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "phi"), filepath.Join(dir, "tmp")
	if _, err := synth.Scale(inputtest.SampleExport(t), in, 6, synth.ScaleOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TMPDIR="+tmp)
	run := func() *exec.Cmd {
		cmd := exec.Command(clitest.Binary(t), in, out, phi, "--output-format", "ndjson") // the ndjson folder layout; Delta crashes: internal/tables/delta
		cmd.Env = env
		return cmd
	}
	began := time.Now()
	if outb, err := run().CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, outb)
	}
	took := time.Since(began)
	rows := map[string]int{}
	tables, _ := filepath.Glob(filepath.Join(out, "*"))
	for _, d := range tables {
		if name := filepath.Base(d); name != "JobConfig" {
			rows[name] = len(tableRows(t, out, name))
		}
	}

	leftovers := 0 // kills that left something to clean: the test kills runs at work, not done
	for i := range 6 {
		cmd := run()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(took * time.Duration(i+1) / 7)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		cmd.Wait()
		checkOnlyWholeTables(t, out, rows)
		if len(scratchFolders(t, tmp)) > 0 {
			leftovers++
		}

		if outb, err := run().CombinedOutput(); err != nil {
			t.Fatalf("kill %d: the next run failed (%v): the dead run's locks or leftovers block it\n%s", i, err, outb)
		}
		checkOnlyWholeTables(t, out, rows)
		if left, _ := filepath.Glob(filepath.Join(out, ".cumulus-etl", "tmp", "*")); len(left) > 0 {
			t.Errorf("kill %d: the next run left the dead run's staging: %q", i, left)
		}
		if left := scratchFolders(t, tmp); len(left) > 0 {
			t.Errorf("kill %d: scratch folders left in TMPDIR: %s", i, strings.Join(left, ", "))
		}
	}
	if leftovers == 0 {
		t.Error("no kill left anything behind: the runs were not killed while working")
	}
}
