package crawl

import (
	"context"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
	"cumulus-etl/internal/progress"
)

// TestCrawlHelperProcess is the child of the kill -9 test and of the benchmark: it runs one
// crawl of Group G1 and prints its peak RSS. It does nothing in a normal test run.
func TestCrawlHelperProcess(t *testing.T) {
	base := os.Getenv("CRAWL_HELPER_BASE")
	if base == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	c, err := fhir.New(ctx, fhir.Options{BaseURL: base, CAFile: os.Getenv("CRAWL_HELPER_CA"),
		Auth: fhir.AuthConfig{ClientID: fhirtest.ClientID, KeyPath: os.Getenv("CRAWL_HELPER_KEY")}, Resources: crawlTypes})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(3)
	}
	o := options(t, c, os.Getenv("CRAWL_HELPER_DIR"))
	o.Progress = progress.New(progress.Options{Out: os.Stderr, Mode: progress.Quiet})
	res, err := Crawl(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crawl failed:", err)
		os.Exit(4)
	}
	fmt.Printf("resources %d requests %d\n", res.Resources, res.Requests)
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM") {
				fmt.Println(line)
			}
		}
	}
}

// helperCmd runs a crawl of srv's Group G1 into dir in a child process (this test binary).
func helperCmd(t testing.TB, srv *fhirtest.Server, dir string) *exec.Cmd {
	ca := filepath.Join(filepath.Dir(srv.KeyPath), "ca.pem")
	if _, err := os.Stat(ca); err != nil {
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrawlHelperProcess$")
	cmd.Env = append(os.Environ(), "CRAWL_HELPER_BASE="+srv.BaseURL, "CRAWL_HELPER_DIR="+dir,
		"CRAWL_HELPER_KEY="+srv.KeyPath, "CRAWL_HELPER_CA="+ca)
	return cmd
}

// searchesOf counts the Encounter searches of each patient so far.
func searchesOf(srv *fhirtest.Server) map[string]int {
	n := map[string]int{}
	for _, q := range srv.SearchQueries("Encounter") {
		n[q.Get("patient")]++
	}
	return n
}

// doneIn returns the patients the journal in dir records as done.
func doneIn(t *testing.T, dir string) []string {
	t.Helper()
	sf, err := openSorted(filepath.Join(dir, ".cumulus-export", "crawl", "cohort.txt"))
	if err != nil {
		return nil
	}
	defer sf.Close()
	st, err := loadJournal(filepath.Join(dir, ".cumulus-export", "crawl", "journal.ndjson"), sf.n)
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	sf.each(func(i int, id []byte) error {
		if st.done.get(i) {
			done = append(done, string(id))
		}
		return nil
	})
	return done
}

// sortedLines returns every data line of a crawl folder, sorted: what must be equal between
// two crawls of the same data, whatever the files and their order.
func sortedLines(t *testing.T, dir string) []string {
	t.Helper()
	var all []string
	for _, pattern := range []string{"*.ndjson", "error/*.ndjson"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			if filepath.Base(f) != "log.ndjson" {
				all = append(all, readLines(t, f)...)
			}
		}
	}
	slices.Sort(all)
	return all
}

// TestCrawl_Kill9AndRerun (issue 14 item 4): the crawl is SIGKILLed at random moments (while
// building the cohort, searching, writing, committing) and rerun each time. A patient the
// journal recorded as done is never searched again, and the final folder holds exactly the
// lines of an uninterrupted crawl (files and line order may differ).
func TestCrawl_Kill9AndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	srv := newServer(t, 40, fhirtest.WithSearchDelay(3*time.Millisecond))
	srv.AddSearchEntry("Condition", "match", resource(map[string]any{"resourceType": "Condition", "id": "shared",
		"subject": map[string]any{"reference": "Patient/elsewhere"}}))
	// The kill moments come from the runs themselves, so a faster crawl never outruns them: an
	// uninterrupted crawl (whose folder is compared at the end) and a rerun of it, which does
	// only the start-up and finds everything done. Each kill lands between half the start-up and
	// the start-up plus a fifth of the crawl's own work, so at least five kills happen before
	// the crawl can finish.
	clean := t.TempDir()
	full := timedRun(t, srv, clean)
	startup := timedRun(t, srv, clean)
	work := max(full-startup, 10*time.Millisecond)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(14, 9))
	kills := 0
	for attempt := 0; attempt < 40 && kills < 10; attempt++ {
		done := doneIn(t, dir)
		before := searchesOf(srv)
		cmd := helperCmd(t, srv, dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-time.After(startup/2 + time.Duration(rng.Int64N(int64(startup/2+work/5)))):
			_ = cmd.Process.Kill()
			<-exited
			kills++
		case err := <-exited:
			if err != nil {
				t.Fatalf("run %d: %v", attempt, err)
			}
		}
		after := searchesOf(srv)
		for _, id := range done {
			if after[id] != before[id] {
				t.Errorf("patient %s, done before run %d, was searched again", id, attempt)
			}
		}
	}
	if kills < 5 {
		t.Fatalf("only %d kills happened", kills)
	}
	if out, err := helperCmd(t, srv, dir).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	got, want := sortedLines(t, dir), sortedLines(t, clean)
	if !slices.Equal(got, want) {
		t.Errorf("after %d kills: %d lines, an uninterrupted crawl has %d", kills, len(got), len(want))
	}
	if n := count(exported(t, dir)); n != 40*perPatientFiltered+1 {
		t.Errorf("%d resources, want %d", n, 40*perPatientFiltered+1)
	}
	t.Logf("%d kills (start-up %v, crawl %v)", kills, startup, work)
}

// timedRun runs the crawl helper to its end in dir and returns how long it took.
func timedRun(t *testing.T, srv *fhirtest.Server, dir string) time.Duration {
	t.Helper()
	start := time.Now()
	if out, err := helperCmd(t, srv, dir).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	return time.Since(start)
}
