package synth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/input/inputtest"
)

// scaledExport is a scaled folder read back: resources by "Type/id", and the raw files.
type scaledExport struct {
	files     map[string][]byte
	resources map[string]map[string]any
}

func readScaled(t *testing.T, dir string) scaledExport {
	t.Helper()
	s := scaledExport{files: readTree(t, dir), resources: map[string]map[string]any{}}
	for name, data := range s.files {
		if strings.Contains(name, "/") || strings.HasPrefix(name, "log.") {
			continue
		}
		for _, r := range lines(t, name, data) {
			key := r["resourceType"].(string) + "/" + r["id"].(string)
			if s.resources[key] != nil {
				t.Errorf("%s: duplicate resource %s", name, key)
			}
			s.resources[key] = r
		}
	}
	return s
}

// checkReferences fails for every relative reference to a type present in the export that does
// not resolve, and returns how many resolved.
func (s scaledExport) checkReferences(t *testing.T) int {
	t.Helper()
	types := map[string]bool{}
	for key := range s.resources {
		types[strings.Split(key, "/")[0]] = true
	}
	resolved := 0
	for key, r := range s.resources {
		walkStrings(r, "", func(k, v string) {
			m := relativeRef.FindStringSubmatch(v)
			if k != "reference" || m == nil || !types[m[1]] {
				return
			}
			if s.resources[v] == nil {
				t.Errorf("%s: reference %s does not resolve", key, v)
			}
			resolved++
		})
	}
	return resolved
}

func TestScaleKeepsReferencesConsistent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gzip    bool
		oneFile bool
	}{
		{"plain, file per copy", false, false},
		{"gzip, one file per type", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, m := generate(t, Options{Patients: 3, Seed: 8, Gzip: tc.gzip})
			dst := t.TempDir()
			const copies = 3
			stats, err := Scale(src, dst, copies, ScaleOptions{OneFilePerType: tc.oneFile, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			s := readScaled(t, dst)
			total := 0
			for typ, n := range m.Counts {
				total += n
				for c := 1; c <= copies; c++ {
					if got := countPrefix(s.resources, typ+"/c"+string(rune('0'+c))+"-"); got != n {
						t.Errorf("%s copy %d: %d resources, want %d", typ, c, got, n)
					}
				}
			}
			if len(s.resources) != copies*total {
				t.Errorf("%d resources, want %d", len(s.resources), copies*total)
			}
			// every resource, plus copies deleted Bundles, plus one error and log line each
			if want := int64(copies*(total+1) + 1 + len(strings.Split(strings.TrimSpace(string(s.files["log.ndjson"])), "\n"))); stats.Resources != want {
				t.Errorf("stats.Resources %d, want %d", stats.Resources, want)
			}
			if n := s.checkReferences(t); n < copies*total {
				t.Errorf("only %d references resolved", n)
			}
			for name := range s.files {
				if strings.HasSuffix(name, ".gz") != tc.gzip && !strings.Contains(name, "/") && name != "log.ndjson" {
					t.Errorf("%s: compression not preserved (input gzip=%v)", name, tc.gzip)
				}
			}
			deleted := 0
			for name, data := range s.files {
				if strings.HasPrefix(name, "deleted/") {
					for _, b := range lines(t, name, data) {
						walkStrings(b, "", func(k, v string) {
							if k == "url" {
								deleted++
								if s.resources[v] == nil {
									t.Errorf("deleted %s is not in the scaled export", v)
								}
							}
						})
					}
				}
			}
			if deleted != copies*len(m.Deleted) {
				t.Errorf("%d deleted entries, want %d", deleted, copies*len(m.Deleted))
			}
			if _, ok := s.files["error/OperationOutcome.000.ndjson"]; !ok {
				t.Error("error file not copied")
			}
		})
	}
}

func countPrefix(m map[string]map[string]any, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func TestScaleSynthea60EncountersPointAtScaledPatients(t *testing.T) {
	full := inputtest.Synthea60(t)
	src := t.TempDir()
	for _, typ := range []string{"Patient", "Encounter", "Organization", "Practitioner"} {
		data, err := os.ReadFile(filepath.Join(full, typ+".000.ndjson.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, typ+".000.ndjson.gz"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := t.TempDir()
	if _, err := Scale(src, dst, 2, ScaleOptions{}); err != nil {
		t.Fatal(err)
	}
	s := readScaled(t, dst)
	encounters := 0
	for key, r := range s.resources {
		if !strings.HasPrefix(key, "Encounter/") {
			continue
		}
		encounters++
		patient := r["subject"].(map[string]any)["reference"].(string)
		copyPrefix := strings.SplitN(strings.TrimPrefix(key, "Encounter/"), "-", 2)[0] + "-"
		if !strings.HasPrefix(patient, "Patient/"+copyPrefix) || s.resources[patient] == nil {
			t.Errorf("%s: subject %s is not a scaled Patient of the same copy", key, patient)
		}
	}
	if encounters != 2*1953 {
		t.Errorf("%d encounters, want %d", encounters, 2*1953)
	}
	if n := s.checkReferences(t); n < 3*2*1953 {
		t.Errorf("only %d references resolved", n)
	}
}

func TestScaleRejectsTruncatedLineNamingFileAndLine(t *testing.T) {
	src := t.TempDir()
	data := "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"b\",\"name\":[{\"fam\n"
	if err := os.WriteFile(filepath.Join(src, "Patient.000.ndjson"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	_, err := Scale(src, dst, 1, ScaleOptions{})
	if err == nil || !strings.Contains(err.Error(), "Patient.000.ndjson line 2") {
		t.Fatalf("error %v, want one naming Patient.000.ndjson line 2", err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("failed scale left files behind: %v", entries)
	}
}

func TestScaleRejectsEmptySource(t *testing.T) {
	if _, err := Scale(t.TempDir(), t.TempDir(), 2, ScaleOptions{}); err == nil {
		t.Error("scaling a folder without ndjson files succeeded")
	}
}

func TestScaleRejectsNonEmptyOutput(t *testing.T) {
	src, _ := generate(t, Options{Patients: 1, Seed: 1})
	dst := t.TempDir()
	if err := os.WriteFile(filepath.Join(dst, "Patient.007.ndjson"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scale(src, dst, 1, ScaleOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("error %v, want one saying the output folder is not empty", err)
	}
}

func TestScaleKeepsFilesNamedWithoutAResourceType(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "1.ndjson"), []byte(`{"resourceType":"Patient","id":"a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stats, err := Scale(src, dst, 2, ScaleOptions{})
	if err != nil || stats.Resources != 2 {
		t.Fatalf("Scale: %+v, %v; want 2 resources", stats, err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "1.001.ndjson"))
	if err != nil || string(got) != `{"resourceType":"Patient","id":"c2-a"}`+"\n" {
		t.Errorf("1.001.ndjson = %q, %v", got, err)
	}
}

func BenchmarkScaleSynthea60(b *testing.B) {
	src := inputtest.Synthea60(b)
	var bytes int64
	for b.Loop() {
		stats, err := Scale(src, b.TempDir(), 2, ScaleOptions{GzipLevel: 1})
		if err != nil {
			b.Fatal(err)
		}
		bytes = stats.Bytes
	}
	b.SetBytes(bytes)
}

func BenchmarkGenerate100Patients(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(b.TempDir(), Options{Patients: 100, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
