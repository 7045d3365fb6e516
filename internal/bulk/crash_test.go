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

// TestCrashKill9AnywhereEndsIdentical SIGKILLs the export 12 times (during start-up, kick-off,
// polling, downloads, renames and journal writes), reruns it each time, and checks the final files
// are byte-identical to the server's and that no journaled file is ever requested again.
//
// The kill moments follow the export, so a faster export cannot outrun them (issue 12). An
// uninterrupted run, timed first, says how long start-up lasts on this machine now: every third
// run is killed at a random moment of it (or as it asks for its first file, if that comes
// first). The others are killed a random part of the way through what is left: the fake server
// sends at most bulktest.SlowChunk per ChunkDelay on each connection, so a run killed g after its
// first file request has received at most conns*(g/ChunkDelay+2) chunks (one sent before the
// first pause, one for the kill's latency), and each gap is under what the chunks left to
// download need, less two per connection for every kill still to come. Every run is thus
// killed before it can finish, and the kill points cover the downloads to near their end.
func TestCrashKill9AnywhereEndsIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const (
		wantKills  = 12
		conns      = 3
		chunkDelay = 10 * time.Millisecond
		fileSize   = 1 << 20
	)
	var files []bulktest.File
	for range 12 {
		files = append(files, bulktest.File{Type: "Observation", Size: fileSize})
	}
	script := bulktest.Script{Files: files, ChunkDelay: chunkDelay}
	startup, whole := uninterruptedRun(t, script, conns)
	t.Logf("uninterrupted run: %v, %v of it start-up", whole, startup)

	srv := bulktest.New(script)
	defer srv.Close()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 2))
	kills, moments := 0, []string{}
	for attempt := 0; attempt < 40 && kills < wantKills; attempt++ {
		done := journaled(t, dir)
		before := map[int]int{}
		for name := range done {
			before[fileIndex(name)] = srv.Requests(fmt.Sprintf("file/%d", fileIndex(name)))
		}
		var kill killMoment
		if kills%3 == 0 {
			kill.atStart = time.Duration(rng.Int64N(int64(startup)))
		} else {
			left := remainingChunks(t, dir, len(files)*fileSize)
			kill.afterFirstFile = time.Duration(rng.Float64() * 0.6 * float64(left/conns-2*(wantKills-kills)) * float64(chunkDelay))
			kill.afterFirstFile = max(kill.afterFirstFile, time.Microsecond)
		}
		cmd := helperCmd(srv.GroupURL(), dir, conns)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if kill.await(srv, len(files), cmd) {
			kills++
			moments = append(moments, kill.String())
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
	t.Logf("killed %s; %d chunks left for the final run", strings.Join(moments, ", "), remainingChunks(t, dir, len(files)*fileSize))
	if out, err := helperCmd(srv.GroupURL(), dir, conns).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	assertFiles(t, dir, files)
	t.Logf("%d kills, %d kick-offs, %d DELETEs", kills, srv.Requests("kickoff"), srv.Requests("delete"))
}

// remainingChunks is how many bulktest.SlowChunk of the export's total bytes are neither in a
// journaled file nor in a partial one (at most what a rerun still downloads).
func remainingChunks(t *testing.T, dir string, total int) int {
	t.Helper()
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range j.done {
		total -= int(e.Size)
	}
	parts, _ := filepath.Glob(filepath.Join(stateDir(dir), "parts", "*.part"))
	for _, p := range parts {
		if fi, err := os.Stat(p); err == nil {
			total -= int(fi.Size())
		}
	}
	return total / bulktest.SlowChunk
}

// uninterruptedRun runs the export once, whole, against a server of its own, and returns how
// long it took to ask for its first file and to finish.
func uninterruptedRun(t *testing.T, script bulktest.Script, conns int) (startup, whole time.Duration) {
	srv := bulktest.New(script)
	defer srv.Close()
	cmd := helperCmd(srv.GroupURL(), t.TempDir(), conns)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for tick := time.NewTicker(time.Millisecond); ; {
		select {
		case err := <-exited:
			if err != nil || startup == 0 {
				t.Fatalf("uninterrupted run: %v (first file request after %v)", err, startup)
			}
			return startup, time.Since(start)
		case <-tick.C:
			if startup == 0 && fileRequests(srv, len(script.Files)) > 0 {
				startup = time.Since(start)
			}
		}
	}
}

// killMoment is when a run is killed: atStart after it starts (or as it asks for its first
// file, if that comes first), or afterFirstFile after its first file request.
type killMoment struct {
	atStart, afterFirstFile time.Duration
}

func (k killMoment) String() string {
	if k.afterFirstFile == 0 {
		return fmt.Sprintf("%v after start", k.atStart.Round(time.Microsecond))
	}
	return fmt.Sprintf("%v after the first file request", k.afterFirstFile.Round(time.Millisecond))
}

// await kills cmd at its moment and reports whether it did (false: the run ended before).
func (k killMoment) await(srv *bulktest.Server, nFiles int, cmd *exec.Cmd) bool {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	requests := fileRequests(srv, nFiles)
	start := time.Now()
	var at time.Time // the kill moment, once known
	if k.afterFirstFile == 0 {
		at = start.Add(k.atStart)
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return false
		case now := <-tick.C:
			if fileRequests(srv, nFiles) > requests {
				if k.afterFirstFile == 0 {
					at = now // a start-up kill, and start-up is over
				} else if at.IsZero() {
					at = now.Add(k.afterFirstFile)
				}
			}
			if !at.IsZero() && !now.Before(at) {
				_ = cmd.Process.Kill()
				<-exited
				return true
			}
		}
	}
}

// fileRequests counts the file requests srv has answered.
func fileRequests(srv *bulktest.Server, nFiles int) int {
	n := 0
	for i := range nFiles {
		n += srv.Requests(fmt.Sprintf("file/%d", i))
	}
	return n
}

func fileIndex(name string) int {
	var n int
	_, _ = fmt.Sscanf(filepath.Base(name), "Observation.%03d.ndjson", &n)
	return n
}
