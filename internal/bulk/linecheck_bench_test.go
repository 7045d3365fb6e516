package bulk

import (
	"os"
	"testing"
)

// BenchmarkLineChecker checks ndjson at the speed the download path needs (issue 12): a file of
// real-looking FHIR resources (set BENCH_NDJSON to one, e.g. a synthea Observation file), else a
// generated one.
func BenchmarkLineChecker(b *testing.B) {
	data, typ := benchNDJSON(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		c := newLineChecker(typ, DefaultMaxLineBytes)
		for off := 0; off < len(data); off += 256 << 10 {
			if _, err := c.Write(data[off:min(len(data), off+256<<10)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchNDJSON(b *testing.B) ([]byte, string) {
	if path := os.Getenv("BENCH_NDJSON"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		return data, os.Getenv("BENCH_NDJSON_TYPE")
	}
	return ndjson("Observation", 20000), "Observation"
}
