package etl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestRun_MemoryStaysBounded runs the ETL on an input several times larger than the memory the
// pipeline may hold (maxInFlight chunks of chunkBytes, plus one partition's id map) and checks
// the heap never grows with the input.
func TestRun_MemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MB")
	}
	f := newFixture(t, nil)
	path := filepath.Join(f.in, "Observation.000.ndjson")
	os.MkdirAll(f.in, 0o755)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(out)
	const rows = 200_000 // about 1 KB each: 200 MB
	for i := range rows {
		fmt.Fprintf(w, `{"resourceType":"Observation","id":"o%d","status":"final","subject":{"reference":"Patient/p%d"},`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"8302-2","display":"Body Height"}],"text":"Body Height"},`+
			`"effectiveDateTime":"2019-01-01T00:00:00Z","valueQuantity":{"value":180.5,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"},`+
			`"note":[{"text":"%0600d"}]}`+"\n", i, i%1000, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out.Close()

	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			mu.Lock()
			peak = max(peak, m.HeapInuse)
			mu.Unlock()
		}
	}()
	f.cfg.Tasks = []Task{{"observation", "Observation"}}
	rep, err := f.run(t)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summaries[0].Written != rows {
		t.Fatalf("written %d, want %d", rep.Summaries[0].Written, rows)
	}
	const limit = 100 << 20
	if peak > limit {
		t.Errorf("heap peaked at %d MB on a 200 MB input, want under %d MB", peak>>20, limit>>20)
	}
	t.Logf("heap peak %d MB for a 200 MB input", peak>>20)
}
