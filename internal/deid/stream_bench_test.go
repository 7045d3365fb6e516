package deid

import (
	"path/filepath"
	"testing"

	gojson "github.com/goccy/go-json"
)

// benchLines loads the raw lines of one synthea-60 file.
func benchLines(b *testing.B, resourceType string) (lines [][]byte, size int64) {
	eachLine(b, filepath.Join(syntheaDir(b), resourceType+".000.ndjson.gz"), func(_ int, line []byte) {
		lines = append(lines, append([]byte(nil), line...))
		size += int64(len(line))
	})
	return lines, size / int64(len(lines))
}

// benchScrubJSON measures ScrubJSON on raw lines; MB/s counts input bytes.
func benchScrubJSON(b *testing.B, resourceType string) {
	lines, avg := benchLines(b, resourceType)
	s := newTestScrubber(b)
	var dst []byte
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _, _, err := s.ScrubJSON(dst[:0], lines[i%len(lines)], resourceType)
		if err != nil {
			b.Fatal(err)
		}
		dst = out
	}
}

// benchMapPath measures what ScrubJSON replaces in the ETL: decode with go-json, Scrub, encode.
func benchMapPath(b *testing.B, resourceType string) {
	lines, avg := benchLines(b, resourceType)
	s := newTestScrubber(b)
	b.SetBytes(avg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var res map[string]any
		if err := gojson.UnmarshalWithOption(lines[i%len(lines)], &res, goJSONOptions); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Scrub(res); err != nil {
			b.Fatal(err)
		}
		if _, err := gojson.MarshalNoEscape(res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrubbers compares, per resource type, the map scrubber alone (input already decoded),
// the map path as the ETL first ran it (decode + Scrub + encode), and ScrubJSON on the raw line.
func BenchmarkScrubbers(b *testing.B) {
	for _, typ := range []string{"Observation", "Patient", "Encounter", "Condition", "MedicationRequest", "DiagnosticReport"} {
		b.Run("Scrub/"+typ, func(b *testing.B) { benchScrub(b, typ) })
		b.Run("MapPath/"+typ, func(b *testing.B) { benchMapPath(b, typ) })
		b.Run("ScrubJSON/"+typ, func(b *testing.B) { benchScrubJSON(b, typ) })
	}
}
