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

// Synthea60 returns the path of the synthea-60 sample export (SharedData "synthea-60").
func Synthea60(tb testing.TB) string {
	tb.Helper()
	return SharedData(tb, "synthea-60")
}

// SharedData returns the path of a shared data set, ../shared/data/NAME relative to the folder
// holding go.mod. A clone without shared/ beside it skips the test (the README's go test ./...
// then passes on a fresh clone); CI, which has it, fails instead.
func SharedData(tb testing.TB, name string) string {
	tb.Helper()
	data := filepath.Join(RepoRoot(tb), "..", "shared", "data", name)
	if _, err := os.Stat(data); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("shared data %s not available: %v", name, err)
		}
		tb.Skipf("shared data %s not available (no ../shared beside the repository): %v", name, err)
	}
	return data
}

// SampleExport returns the path of the generated sample export bundled in the repository.
func SampleExport(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(RepoRoot(tb), "sample", "export")
}
