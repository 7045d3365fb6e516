package bulk

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/bulk/bulktest"
)

// BenchmarkExportVsCurl exports 1 GiB of generated ndjson (64 files of 16 MiB) from the fake
// server on loopback in a child process, then fetches the same files with curl at the same
// parallelism, and reports both throughputs, their ratio and the exporter's peak RSS.
//
//	go test ./internal/bulk -run '^$' -bench ExportVsCurl -benchtime 1x
func BenchmarkExportVsCurl(b *testing.B) {
	const files, size, parallel = 64, 16 << 20, 8
	var fs []bulktest.File
	for range files {
		fs = append(fs, bulktest.File{Type: "Observation", Size: size})
	}
	srv := bulktest.New(bulktest.Script{Files: fs})
	defer srv.Close()
	total := float64(files * size)
	for range b.N {
		dir := b.TempDir()
		start := time.Now()
		out, err := helperCmd(srv.GroupURL(), dir, parallel).Output()
		if err != nil {
			b.Fatalf("export: %v", err)
		}
		ours := time.Since(start)
		b.ReportMetric(total/ours.Seconds()/(1<<20), "export-MiB/s")
		if kb := rssKB(string(out)); kb > 0 {
			b.ReportMetric(float64(kb)/1024, "peak-RSS-MiB")
		}
		if _, err := exec.LookPath("curl"); err != nil {
			continue
		}
		args := []string{"--parallel", "--parallel-max", strconv.Itoa(parallel), "-sS", "--fail"}
		for i := range files {
			args = append(args, "-o", fmt.Sprintf("%s/curl.%d", dir, i), fmt.Sprintf("%s/files/%d?gen=0", srv.URL, i))
		}
		start = time.Now()
		if out, err := exec.Command("curl", args...).CombinedOutput(); err != nil {
			b.Fatalf("curl: %v\n%s", err, out)
		}
		theirs := time.Since(start)
		b.ReportMetric(total/theirs.Seconds()/(1<<20), "curl-MiB/s")
		b.ReportMetric(theirs.Seconds()/ours.Seconds(), "export/curl")
		_ = os.RemoveAll(dir)
	}
}

// rssKB reads "VmHWM:  1234 kB" from the helper's output.
func rssKB(out string) int {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
