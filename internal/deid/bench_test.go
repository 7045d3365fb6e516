package deid

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// benchScrub scrubs real sample resources of one type. Scrub mutates its input, so fresh copies
// are decoded in batches with the timer stopped.
func benchScrub(b *testing.B, resourceType string) {
	var lines [][]byte
	eachResource(b, filepath.Join(syntheaDir(b), resourceType+".000.ndjson.gz"), func(res map[string]any) {
		line, err := json.Marshal(res)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, line)
	})
	s := newTestScrubber(b)
	const batch = 32
	fresh := make([]map[string]any, batch)
	refill := func(start int) {
		for i := range fresh {
			fresh[i] = decode(b, string(lines[(start+i)%len(lines)]))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			refill(i)
			b.StartTimer()
		}
		if _, err := s.Scrub(fresh[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFakeID(b *testing.B) {
	cb := mustParse(b, testCodebook)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		cb.FakeID("Observation", "cdec68f5-5a6a-4861-b26b-f4061ff4f2f9")
	}
}

func BenchmarkFakeIDParallel(b *testing.B) {
	cb := mustParse(b, testCodebook)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cb.FakeID("Observation", "cdec68f5-5a6a-4861-b26b-f4061ff4f2f9")
		}
	})
}
