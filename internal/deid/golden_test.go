package deid

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.output.json from the current scrubber")

// goldenPHI are strings planted in every golden input; none may survive scrubbing.
var goldenPHI = []string{
	"Jane", "Quinn", "Public", "Janie", "4471", "999-44", "555-0142", "Elm Street", "Springfield General",
	"Springfield Pharmacy", "Ratched", "Ortiz", "Lettie", "Boyle", "Lemke", "<div", "PAGER",
	"SmFuZSBRdWlubiBQdWJsaWM=", "ehr.example.org", "Binary/", "6c5d9ca9-54d7-42f5-bfae-a7c19cd217f2",
}

func TestGoldenResources(t *testing.T) {
	for _, rt := range taskResourceTypes {
		t.Run(rt, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden")
			in, err := os.ReadFile(filepath.Join(dir, rt+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			res := decode(t, string(in))
			s := newTestScrubber(t)
			outcome, err := s.Scrub(res)
			if err != nil || outcome != Kept {
				t.Fatalf("Scrub = %v, %v", outcome, err)
			}
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			for _, phi := range goldenPHI {
				if bytes.Contains(got, []byte(phi)) {
					t.Errorf("planted PHI %q survived scrubbing", phi)
				}
			}
			outPath := filepath.Join(dir, rt+".output.json")
			if *update {
				if err := os.WriteFile(outPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from scrubber output (run go test -update after checking):\n%s", outPath, diffLines(string(want), string(got)))
			}
		})
	}
}

// diffLines shows the first differing line, enough to locate a golden mismatch.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(identical lines)"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
