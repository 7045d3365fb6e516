package etl

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cumulus-etl/internal/input/inputtest"
)

// BenchmarkRunSynthea60 runs the whole ETL on the shared 60-patient export. The MB/s it reports
// is of uncompressed ndjson input (27.2 MB). For a million resources, use scripts/bench-etl.sh.
func BenchmarkRunSynthea60(b *testing.B) {
	in := inputtest.Synthea60(b)
	b.SetBytes(27_200_000)
	for i := 0; b.Loop(); i++ {
		root := b.TempDir()
		cfg := Config{OutputFormat: "ndjson", InputDir: in, OutputDir: filepath.Join(root, "out"), PHIDir: filepath.Join(root, "phi"),
			ExportGroup: "bench", ExportTimestamp: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), TempDir: root}
		if _, err := Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(root)
	}
}
