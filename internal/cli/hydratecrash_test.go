package cli

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"cumulus-etl/internal/cli/clitest"
)

// TestInline_KillNineMidRunThenRerun (issue 9 item 2, "a kill -9 mid-run and a rerun"): the
// real binary is killed with SIGKILL while it downloads; the file is then still whole (the old
// one), and a rerun finishes it, downloading again at most the requests that were in flight.
func TestInline_KillNineMidRunThenRerun(t *testing.T) {
	bin := clitest.Binary(t)
	s, auth := noteServer(t)
	const n = 400
	var served atomic.Int64
	counts := make([]atomic.Int32, n)
	s.Handle("GET Binary/{id}", func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.PathValue("id"), "n%d", &i)
		counts[i].Add(1)
		time.Sleep(2 * time.Millisecond)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "note %d", i)
		served.Add(1)
	})
	dir := t.TempDir()
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"resourceType":"DocumentReference","id":"d%d","status":"current","content":[{"attachment":{"contentType":"text/plain","url":"Binary/n%d"}}]}`, i, i))
	}
	path := filepath.Join(dir, "DocumentReference.000.ndjson")
	original := strings.Join(lines, "\n") + "\n"
	os.WriteFile(path, []byte(original), 0o600)

	args := append([]string{"inline", dir, "--max-concurrency", "4", "--quiet"}, auth...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); served.Load() < n/3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	_ = cmd.Process.Kill() // SIGKILL
	_ = cmd.Wait()
	killedAt := served.Load()
	if killedAt >= n {
		t.Skip("the run finished before it could be killed")
	}
	if b, _ := os.ReadFile(path); string(b) != original {
		t.Fatalf("after kill -9 the file is neither the old one nor whole (%d bytes)", len(b))
	}
	if code, stdout, stderr := runCLI(t, args...); code != ExitOK {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
	}
	twice := 0
	for i := range counts {
		if counts[i].Load() > 1 {
			twice++
		}
	}
	if twice > 8 { // up to --max-concurrency in flight, and as many downloaded but not yet journaled
		t.Errorf("%d notes were downloaded twice (killed after %d): only those in flight may be", twice, killedAt)
	}
	for i, l := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		if got := gjson.Get(l, "content.0.attachment.data").String(); got == "" {
			t.Fatalf("line %d not inlined after the rerun", i+1)
		}
	}
	t.Logf("killed after %d of %d downloads; %d downloaded twice", killedAt, n, twice)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
