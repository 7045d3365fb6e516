package bulk

import (
	"math/rand/v2"
	"os"
	"path/filepath"
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

// TestIssue12FastLinePathAgreesWithTheStateMachine: the whole-line path (lines lying whole in a
// buffer) and the state machine (lines cut by buffers; here every byte is its own buffer) give
// the same verdict, count and message on real resources mutated at random (quotes, escapes,
// brackets, newlines moved, added or removed).
func TestIssue12FastLinePathAgreesWithTheStateMachine(t *testing.T) {
	var base []byte
	for _, name := range []string{"Patient", "Condition", "DocumentReference", "Observation"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "sample", "export", name+".000.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		base = append(base, b[:min(len(b), 20000)]...)
	}
	extra := []byte("{}[],:\"\\\n \t\rx0")
	rng := rand.New(rand.NewPCG(12, 1))
	check := func(data []byte, want string, chunk int) (string, int64) {
		c := newLineChecker(want, 1<<20)
		for off := 0; off < len(data); off += chunk {
			if _, err := c.Write(data[off:min(len(data), off+chunk)]); err != nil {
				return err.Error(), c.resources
			}
		}
		if err := c.Close(); err != nil {
			return err.Error(), c.resources
		}
		return "", c.resources
	}
	for iter := range 2000 {
		start := rng.IntN(len(base))
		data := append([]byte(nil), base[start:min(len(base), start+rng.IntN(8000))]...)
		for m := rng.IntN(4); m > 0 && len(data) > 0; m-- {
			pos, b := rng.IntN(len(data)), extra[rng.IntN(len(extra))]
			switch rng.IntN(3) {
			case 0:
				data[pos] = b
			case 1:
				data = append(data[:pos], data[pos+1:]...)
			default:
				data = append(data[:pos], append([]byte{b}, data[pos:]...)...)
			}
		}
		want := []string{"", "Observation", "Patient"}[rng.IntN(3)]
		fastErr, fastN := check(data, want, 1<<20)
		slowErr, slowN := check(data, want, 1)
		if fastErr != slowErr || fastN != slowN {
			t.Fatalf("iteration %d (%q): whole lines %q after %d resources, byte by byte %q after %d", iter, data, fastErr, fastN, slowErr, slowN)
		}
	}
}
