// Package inputtest gives tests access to the sample bulk exports: the one bundled in the
// repository and the shared synthea-60 one next to it.
package inputtest

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the folder holding go.mod, searching up from the test's folder.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// Synthea60 returns the path of the synthea-60 sample export, found as
// ../shared/data/synthea-60 relative to the folder holding go.mod. It skips
// the test when the sample is absent.
func Synthea60(tb testing.TB) string {
	tb.Helper()
	data := filepath.Join(RepoRoot(tb), "..", "shared", "data", "synthea-60")
	if _, err := os.Stat(data); err != nil {
		tb.Skipf("sample export not available: %v", err)
	}
	return data
}

// SampleExport returns the path of the generated sample export bundled in the repository.
func SampleExport(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(RepoRoot(tb), "sample", "export")
}
