package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed sample must be exactly what its README's command generates.
func TestCommittedSampleMatchesGenerator(t *testing.T) {
	tmp := t.TempDir()
	var stdout bytes.Buffer
	err := run([]string{"-out", filepath.Join(tmp, "export"), "-patients", "20", "-seed", "1", "-phi", filepath.Join(tmp, "planted-phi.txt")}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "Patient                  20") {
		t.Errorf("counts output lacks the Patient row:\n%s", stdout.String())
	}
	sample := filepath.Join("..", "..", "sample")
	compared := 0
	err = filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(sample, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("sample/%s is missing or stale; regenerate it with the command in sample/README.md", rel)
		}
		compared++
		return nil
	})
	if err != nil || compared < 25 {
		t.Fatalf("compared %d files: %v", compared, err)
	}
}

func TestRunRequiresOut(t *testing.T) {
	if err := run([]string{"-patients", "2"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-out") {
		t.Errorf("error %v, want one about -out", err)
	}
}
