// Package inputtest gives tests access to the sample bulk exports shipped
// next to the repository.
package inputtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Synthea60 returns the path of the synthea-60 sample export, found as
// ../shared/data/synthea-60 relative to the folder holding go.mod. It skips
// the test when the sample is absent.
func Synthea60(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("go.mod not found above the test's folder")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data", "synthea-60")
	if _, err := os.Stat(data); err != nil {
		tb.Skipf("sample export not available: %v", err)
	}
	return data
}
