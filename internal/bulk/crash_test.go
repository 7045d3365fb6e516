package bulk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/progress"
)

// TestCrashHelperProcess is the child of TestCrashKill9AnywhereEndsIdentical: it runs one export
// (and, for the benchmark, prints its peak RSS). It does nothing in a normal test run.
func TestCrashHelperProcess(t *testing.T) {
	exportURL, dir := os.Getenv("BULK_HELPER_URL"), os.Getenv("BULK_HELPER_DIR")
	if exportURL == "" {
		t.Skip("helper process only")
	}
	conc, _ := strconv.Atoi(os.Getenv("BULK_HELPER_CONCURRENCY"))
	_, err := Export(context.Background(), http.DefaultClient, Options{URL: exportURL, Dir: dir, Types: []string{"Observation"},
		Progress: progress.New(progress.Options{Out: os.Stderr, Mode: progress.Quiet}), Concurrency: conc, MaxConcurrency: conc})
	if err != nil {
		fmt.Fprintln(os.Stderr, "export failed:", err)
		os.Exit(3)
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		fmt.Printf("%s", grepLine(status, "VmHWM"))
	}
}

func grepLine(b []byte, prefix string) string {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line + "\n"
		}
	}
	return ""
}

// helperCmd runs the export in a child process (this test binary).
func helperCmd(exportURL, dir string, concurrency int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "BULK_HELPER_URL="+exportURL, "BULK_HELPER_DIR="+dir,
		"BULK_HELPER_CONCURRENCY="+strconv.Itoa(concurrency))
	return cmd
}

// journaled returns the names the journal in dir records as complete (and still verified).
func journaled(t *testing.T, dir string) map[string]bool {
	t.Helper()
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for name := range j.done {
		done[name] = true
	}
	return done
}

// TestCrashKill9AnywhereEndsIdentical SIGKILLs the export at 12 random moments (during kick-off,
// polling, downloads, renames and journal writes), reruns it each time, and checks the final files
// are byte-identical to the server's and that no journaled file is ever requested again.
func TestCrashKill9AnywhereEndsIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	var files []bulktest.File
	for range 10 {
		files = append(files, bulktest.File{Type: "Observation", Size: 1 << 20})
	}
	srv := bulktest.New(bulktest.Script{Files: files, ChunkDelay: 3 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 2))
	kills := 0
	for attempt := 0; attempt < 40 && kills < 12; attempt++ {
		done := journaled(t, dir)
		before := map[int]int{}
		for name := range done {
			before[fileIndex(name)] = srv.Requests(fmt.Sprintf("file/%d", fileIndex(name)))
		}
		cmd := helperCmd(srv.GroupURL(), dir, 3)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-time.After(time.Duration(rng.IntN(250)) * time.Millisecond):
			_ = cmd.Process.Kill()
			<-exited
			kills++
		case <-exited:
		}
		for i, n := range before {
			if got := srv.Requests(fmt.Sprintf("file/%d", i)); got != n {
				t.Errorf("journaled file %d was requested again (%d -> %d)", i, n, got)
			}
		}
	}
	if kills < 10 {
		t.Fatalf("only %d kills happened", kills)
	}
	if out, err := helperCmd(srv.GroupURL(), dir, 3).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	assertFiles(t, dir, files)
	t.Logf("%d kills, %d kick-offs, %d DELETEs", kills, srv.Requests("kickoff"), srv.Requests("delete"))
}

func fileIndex(name string) int {
	var n int
	_, _ = fmt.Sscanf(filepath.Base(name), "Observation.%03d.ndjson", &n)
	return n
}
