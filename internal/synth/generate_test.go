package synth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// generate runs Generate into a fresh temp dir.
func generate(t testing.TB, opts Options) (string, *Manifest) {
	t.Helper()
	dir := t.TempDir()
	m, err := Generate(dir, opts)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opts, err)
	}
	return dir, m
}

// readTree returns every file under dir (relative slash path → uncompressed bytes).
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return err
			}
			if b, err = io.ReadAll(zr); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// lines decodes each ndjson line of b as a JSON object.
func lines(t *testing.T, name string, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s line %d is not a JSON object: %v", name, n, err)
		}
		out = append(out, m)
	}
	return out
}

func TestGenerateIsByteIdenticalForSameOptions(t *testing.T) {
	for _, opts := range []Options{
		{Patients: 5, Seed: 7},
		{Patients: 3, Seed: 7, Gzip: true},
		{Patients: 2, Seed: -3, TransactionTime: time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)},
	} {
		dirA, mA := generate(t, opts)
		dirB, mB := generate(t, opts)
		a, b := readTree(t, dirA), readTree(t, dirB)
		if len(a) != len(b) {
			t.Fatalf("%+v: %d files vs %d", opts, len(a), len(b))
		}
		for name, data := range a {
			if !bytes.Equal(data, b[name]) {
				t.Errorf("%+v: %s differs between runs", opts, name)
			}
		}
		if !slices.Equal(mA.PlantedPHI, mB.PlantedPHI) {
			t.Errorf("%+v: PlantedPHI differs between runs", opts)
		}
		if opts.Gzip {
			rawA, _ := os.ReadFile(filepath.Join(dirA, "Patient.000.ndjson.gz"))
			rawB, _ := os.ReadFile(filepath.Join(dirB, "Patient.000.ndjson.gz"))
			if !bytes.Equal(rawA, rawB) {
				t.Errorf("gzip bytes differ between runs")
			}
		}
	}
}

func TestGenerateDependsOnSeed(t *testing.T) {
	dirA, _ := generate(t, Options{Patients: 2, Seed: 1})
	dirB, _ := generate(t, Options{Patients: 2, Seed: 2})
	if bytes.Equal(readTree(t, dirA)["Patient.000.ndjson"], readTree(t, dirB)["Patient.000.ndjson"]) {
		t.Error("different seeds gave identical patients")
	}
}

func TestGenerateRejectsNoPatients(t *testing.T) {
	if _, err := Generate(t.TempDir(), Options{}); err == nil {
		t.Error("Generate with 0 patients succeeded")
	}
}

func TestGenerateWritesEveryTaskTypeWithRows(t *testing.T) {
	for _, patients := range []int{1, 20} {
		dir, m := generate(t, Options{Patients: patients, Seed: 1})
		files := readTree(t, dir)
		for _, typ := range append(TaskTypes(), UntaskedTypes()...) {
			rows := lines(t, typ, files[typ+".000.ndjson"])
			if len(rows) == 0 || m.Counts[typ] != len(rows) {
				t.Errorf("patients=%d: %s has %d rows, manifest says %d", patients, typ, len(rows), m.Counts[typ])
			}
		}
		if len(TaskTypes()) != 20 {
			t.Errorf("TaskTypes has %d types, want 20", len(TaskTypes()))
		}
	}
}

func TestGenerateGzipMatchesPlain(t *testing.T) {
	plain, _ := generate(t, Options{Patients: 2, Seed: 9})
	zipped, _ := generate(t, Options{Patients: 2, Seed: 9, Gzip: true})
	p, z := readTree(t, plain), readTree(t, zipped)
	for _, typ := range TaskTypes() {
		if !bytes.Equal(p[typ+".000.ndjson"], z[typ+".000.ndjson.gz"]) {
			t.Errorf("%s: gzip content differs from plain", typ)
		}
	}
}

func TestEveryLineIsAResourceOfItsFileType(t *testing.T) {
	dir, _ := generate(t, Options{Patients: 6, Seed: 3})
	for name, data := range readTree(t, dir) {
		if name == "log.ndjson" {
			continue
		}
		typ := strings.SplitN(filepath.Base(name), ".", 2)[0]
		seen := map[string]bool{}
		for i, r := range lines(t, name, data) {
			id, _ := r["id"].(string)
			if r["resourceType"] != typ || id == "" {
				t.Errorf("%s line %d: resourceType %v id %q, want type %s and an id", name, i+1, r["resourceType"], id, typ)
			}
			if seen[id] {
				t.Errorf("%s line %d: duplicate id %s", name, i+1, id)
			}
			seen[id] = true
		}
	}
}
