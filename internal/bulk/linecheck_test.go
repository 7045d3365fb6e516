package bulk

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
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
		if rng.IntN(4) > 0 { // mostly from a line start, so the lines after a mutation are checked too
			start += bytes.IndexByte(base[start:], '\n') + 1
		}
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
		slowErr, slowN := check(data, want, 1)
		for _, vector := range []bool{useVector, false} {
			useVector = vector
			fastErr, fastN := check(data, want, 1<<20)
			useVector = true
			if fastErr != slowErr || fastN != slowN {
				t.Fatalf("iteration %d (%q, vector kernel %v): whole lines %q after %d resources, byte by byte %q after %d", iter, data, vector, fastErr, fastN, slowErr, slowN)
			}
		}
	}
}

// TestIssue12BlockClassifierMatchesByteByByte: the vector kernel that flags quotes,
// backslashes, brackets, colons and commas in 64-byte blocks flags the same bytes as the plain
// loop, on blocks dense with those bytes and on arbitrary bytes.
func TestIssue12BlockClassifierMatchesByteByByte(t *testing.T) {
	if !useVector {
		t.Skip("no vector kernel on this machine: classify64 is the plain loop")
	}
	rng := rand.New(rand.NewPCG(64, 1))
	special := []byte("\"\\{}[]:,\n x\x00\xff")
	block := make([]byte, 64)
	for iter := range 20000 {
		for k := range block {
			if iter%2 == 0 {
				block[k] = special[rng.IntN(len(special))]
			} else {
				block[k] = byte(rng.IntN(256))
			}
		}
		var got, want blockMasks
		classify64(block, &got)
		classify64Generic(block, &want)
		if got != want {
			t.Fatalf("block %q: vector %+v, plain %+v", block, got, want)
		}
	}
}

// TestIssue12TrickyLinesAgree: lines that take the whole-line path's rarer branches (deep
// nesting, escapes on every side of an eight-byte word, blanks, repeated or escaped keys) get
// the verdict the state machine gives them byte by byte, and the one DL-10 and DL-13 ask for.
func TestIssue12TrickyLinesAgree(t *testing.T) {
	const p = `{"resourceType":"Patient"`
	cases := []struct {
		name, line, wantErr string
	}{
		{"nesting deeper than the fast path follows", p + `,"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}", ""},
		{"the last top-level resourceType counts", `{"resourceType":"Observation","resourceType":"Patient"}`, ""},
		{"a value spelled resourceType is no key", `{"a":"resourceType","resourceType":"Patient"}`, ""},
		{"blanks everywhere", "{ \"resourceType\" :\t\"Patient\" , \"a\" : [ 1 , true ] }\r", ""},
		{"escaped quotes and brackets in strings", p + `,"a":"\"}]","b":"\\","c":"\\\"{"}`, ""},
		{"escaped key", `{"resource\u0054ype":"Patient"}`, "no resourceType"},
		{"escaped value", `{"resourceType":"Pat\u0069ent"}`, "no resourceType"},
		{"value over the remembered length", `{"resourceType":"` + strings.Repeat("P", maxCapture+1) + `"}`, "no resourceType"},
		{"odd backslashes before the last quote", p + `,"a":"\\\"}`, "truncated"},
		{"backslash outside a string", p + `,"a":1\}`, "not JSON"},
		{"a contained resource's resourceType is not the line's", `{"contained":[{"resourceType":"Medication"}],"resourceType":"Patient"}`, ""},
		{"only a contained resource has a resourceType", `{"contained":[{"resourceType":"Patient"}]}`, "no resourceType"},
		{"resourceType as the value of resourceType", `{"resourceType":"resourceType","resourceType":"Patient"}`, ""},
		{"resourceType after a value without a comma is no key", `{"a":"b" "resourceType":"Patient"}`, "no resourceType"},
		{"resourceType with a number for its value", `{"resourceType":5}`, "no resourceType"},
		{"a later escaped resourceType value keeps the first", p + `,"resourceType":"P\u0061tient"}`, ""},
		{"resourceType value of exactly the remembered length", `{"resourceType":"` + strings.Repeat("P", maxCapture) + `"}`, "where the manifest says"},
		{"resourceType spelled in a string below the top level", `{"a":{"b":"resourceType"},"resourceType":"Patient"}`, ""},
	}
	for off := range 140 { // an escape at each place of a word and of a 64-byte block
		pad := strings.Repeat("x", off)
		cases = append(cases, struct{ name, line, wantErr string }{fmt.Sprintf("escapes %d bytes into a string", off),
			p + `,"` + pad + `\"":"` + pad + `\\","b":"` + pad + `\\\"\\"}`, ""})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var verdicts []string
			for _, chunk := range []int{1, 7, 1 << 20} {
				c := newLineChecker("Patient", 1<<20)
				data := []byte(tc.line + "\n")
				var err error
				for off := 0; off < len(data) && err == nil; off += chunk {
					_, err = c.Write(data[off:min(len(data), off+chunk)])
				}
				if err == nil {
					err = c.Close()
				}
				got := fmt.Sprintf("%d resources", c.resources)
				if err != nil {
					got = err.Error()
				}
				verdicts = append(verdicts, got)
			}
			if verdicts[0] != verdicts[1] || verdicts[0] != verdicts[2] {
				t.Fatalf("byte by byte %q, 7 bytes at a time %q, whole %q", verdicts[0], verdicts[1], verdicts[2])
			}
			if want := "1 resources"; tc.wantErr == "" && verdicts[2] != want || tc.wantErr != "" && !strings.Contains(verdicts[2], tc.wantErr) {
				t.Fatalf("got %q, want %q", verdicts[2], cmp.Or(tc.wantErr, want))
			}
		})
	}
}
