package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeDir creates dir holding one file "marker" with the given content.
func makeDir(t *testing.T, dir, marker string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte(marker), 0o600); err != nil {
		t.Fatal(err)
	}
}

func marker(t *testing.T, dir string) string {
	t.Helper()
	return readFile(t, filepath.Join(dir, "marker"))
}

func TestReplaceDirRestoresOldWhenSecondRenameFails(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "table")
	makeDir(t, dst, "old")
	staging := filepath.Join(parent, "staging")
	makeDir(t, staging, "new")
	calls := 0
	failSecond := func(from, to string) error {
		calls++
		if calls == 2 {
			return errors.New("disk on fire")
		}
		return os.Rename(from, to)
	}
	err := replaceDir(staging, dst, dst+".old", failSecond)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), dst) {
		t.Fatalf("err = %v", err)
	}
	if got := marker(t, dst); got != "old" {
		t.Errorf("dst holds %q, want old restored", got)
	}
	if got := marker(t, staging); got != "new" {
		t.Errorf("staging holds %q, want it untouched", got)
	}
}

// TestReplaceDirCrashBetweenRenamesIsRecoverable simulates a crash right after
// dst was moved aside: nothing else happens until RecoverDir runs.
func TestReplaceDirCrashBetweenRenamesIsRecoverable(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "table")
	makeDir(t, dst, "old")
	staging := filepath.Join(parent, "staging")
	makeDir(t, staging, "new")
	calls := 0
	crashAfterFirst := func(from, to string) error {
		calls++
		if calls > 1 {
			return errors.New("crashed")
		}
		return os.Rename(from, to)
	}
	if err := replaceDir(staging, dst, dst+".old", crashAfterFirst); err == nil {
		t.Fatal("replaceDir succeeded despite the crash")
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dst should be missing after the simulated crash: %v", err)
	}
	if err := recoverDir(dst, []string{dst + ".old"}); err != nil {
		t.Fatal(err)
	}
	if got := marker(t, dst); got != "old" {
		t.Errorf("dst holds %q after recovery, want old", got)
	}
}

func TestRecoverDir(t *testing.T) {
	tests := []struct {
		name       string
		dst        string // marker of dst, "" = missing
		olds       []string
		wantDst    string
		wantErr    string
		wantParent int // entries left in the parent
	}{
		{name: "nothing to do", wantParent: 0},
		{name: "dst alone is kept", dst: "cur", wantDst: "cur", wantParent: 1},
		{name: "both exist: old removed", dst: "cur", olds: []string{"a"}, wantDst: "cur", wantParent: 1},
		{name: "both exist: every old removed", dst: "cur", olds: []string{"a", "b"}, wantDst: "cur", wantParent: 1},
		{name: "dst missing: old put back", olds: []string{"a"}, wantDst: "a", wantParent: 1},
		{name: "dst missing, several olds: error", olds: []string{"a", "b"}, wantErr: "2 old copies", wantParent: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "out[1]") // glob metacharacters are literal
			if tt.dst != "" {
				makeDir(t, dst, tt.dst)
			}
			var olds []string
			for _, m := range tt.olds {
				makeDir(t, dst+oldInfix+m, m)
				olds = append(olds, dst+oldInfix+m)
			}
			makeDir(t, filepath.Join(parent, "out[1]x.old-z"), "unrelated") // not an old copy of dst
			err := recoverDir(dst, olds)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.wantDst != "" {
				if got := marker(t, dst); got != tt.wantDst {
					t.Errorf("dst holds %q, want %q", got, tt.wantDst)
				}
			}
			if n := len(entries(t, parent)) - 1; n != tt.wantParent {
				t.Errorf("parent holds %d entries besides the unrelated one, want %d", n, tt.wantParent)
			}
		})
	}
}

func TestReplaceDirMissingStagingKeepsDst(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "table")
	makeDir(t, dst, "old")
	staging := filepath.Join(parent, "missing")
	if err := replaceDir(staging, dst, dst+".old", os.Rename); err == nil || !strings.Contains(err.Error(), staging) {
		t.Fatalf("err = %v, want an error naming %s", err, staging)
	}
	if got := marker(t, dst); got != "old" {
		t.Errorf("dst holds %q, want old", got)
	}
}
