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

func BenchmarkScrubJSONObservation(b *testing.B)       { benchScrubJSON(b, "Observation") }
func BenchmarkScrubJSONPatient(b *testing.B)           { benchScrubJSON(b, "Patient") }
func BenchmarkScrubJSONEncounter(b *testing.B)         { benchScrubJSON(b, "Encounter") }
func BenchmarkScrubJSONDiagnosticReport(b *testing.B)  { benchScrubJSON(b, "DiagnosticReport") }
func BenchmarkScrubJSONMedicationRequest(b *testing.B) { benchScrubJSON(b, "MedicationRequest") }
func BenchmarkMapPathObservation(b *testing.B)         { benchMapPath(b, "Observation") }
func BenchmarkMapPathPatient(b *testing.B)             { benchMapPath(b, "Patient") }
func BenchmarkMapPathEncounter(b *testing.B)           { benchMapPath(b, "Encounter") }
func BenchmarkMapPathDiagnosticReport(b *testing.B)    { benchMapPath(b, "DiagnosticReport") }
func BenchmarkMapPathMedicationRequest(b *testing.B)   { benchMapPath(b, "MedicationRequest") }
