package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/synth"
)

func TestRunScalesAndReportsThroughput(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	m, err := synth.Generate(src, synth.Options{Patients: 1, Seed: 1, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(0, 0)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	var stdout bytes.Buffer
	if err := run([]string{"-in", src, "-out", dst, "-copies", "2", "-one-file-per-type", "-gzip-level", "1"}, &stdout, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "in 1.0s") {
		t.Errorf("output %q lacks the injected duration", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dst, "Patient.000.ndjson.gz")); err != nil || m.Counts["Patient"] != 1 {
		t.Errorf("scaled Patient file missing: %v", err)
	}
}

func TestRunRequiresInAndOut(t *testing.T) {
	if err := run([]string{"-copies", "2"}, &bytes.Buffer{}, time.Now); err == nil {
		t.Error("run without -in/-out succeeded")
	}
}
