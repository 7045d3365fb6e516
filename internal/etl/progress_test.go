package etl

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/progress"
)

// TestIssue10Item17EachTaskReportsLiveProgress: every task reports the rows it reads and the
// input bytes, against the input's size, so a display can show rows, MB/s, elapsed time and the
// time left while a long task runs; here a plain-line display prints it as lines.
func TestIssue10Item17EachTaskReportsLiveProgress(t *testing.T) {
	var patients strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&patients, `{"resourceType":"Patient","id":"p%d"}`+"\n", i)
	}
	f := newFixture(t, map[string]string{"Patient.ndjson": patients.String()})
	var out bytes.Buffer
	display := progress.New(progress.Options{Out: &out, Mode: progress.Lines, Interval: time.Nanosecond})
	f.cfg.Progress = display
	if _, err := Run(context.Background(), f.cfg); err != nil {
		t.Fatal(err)
	}
	display.Close()
	size := progress.HumanSize(int64(patients.Len()))
	for _, want := range []string{"  patient: 1,000 rows, ", "  patient: 2,000 rows, ", "  patient: 2,500 rows, " + size + " of " + size + " (100%)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
}
