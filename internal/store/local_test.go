package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLocalContract(t *testing.T) {
	testContract(t, func(t *testing.T) Store { return NewLocal(filepath.Join(t.TempDir(), "root"), Options{}) })
}

func TestLocalPrivateModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "phi")
	s := NewLocal(root, Options{Private: true})
	mustWrite(t, s, "sub/codebook.json", "{}")
	for path, want := range map[string]os.FileMode{root: 0o700, filepath.Join(root, "sub"): 0o700, filepath.Join(root, "sub", "codebook.json"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	pub := NewLocal(filepath.Join(t.TempDir(), "out"), Options{})
	mustWrite(t, pub, "t/t.000.ndjson", "{}")
	if fi, _ := os.Stat(pub.Location("t/t.000.ndjson")); fi.Mode().Perm() != 0o644 {
		t.Errorf("OUTPUT file mode %v, want 0644", fi.Mode().Perm())
	}
}

// SMART Fetch keeps each export in a subfolder and links the current files from the top: a file
// reached through links lists once; links to folders are followed, a link loop ends, and a link
// to nothing is listed with Err.
func TestLocalListFollowsFileLinksOnce(t *testing.T) {
	root := t.TempDir()
	s := NewLocal(root, Options{})
	mustWrite(t, s, "exports/1/Patient.ndjson", "p")
	if err := os.Symlink("exports/1/Patient.ndjson", filepath.Join(root, "Patient.ndjson")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../exports/1/Patient.ndjson", filepath.Join(root, "exports", "Patient-link.ndjson")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("exports", filepath.Join(root, "folder-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(root, "exports", "1", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("gone.ndjson", filepath.Join(root, "dangling.ndjson")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "elsewhere/Condition.ndjson", "c")
	if err := os.Symlink("elsewhere", filepath.Join(root, "z-linked-folder")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := s.List(context.Background(), "", func(i Info) error {
		if i.Err != nil {
			got = append(got, i.Name+" (broken)")
		} else {
			got = append(got, i.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Patient.ndjson", "dangling.ndjson (broken)", "elsewhere/Condition.ndjson"} // first names in walk order
	if !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

// A crash between the two renames of Publish leaves the folder missing and its old copy under
// ControlDir: ReadDir still shows the old version, and the next Stage puts it back.
func TestLocalCrashBetweenRenames(t *testing.T) {
	ctx := context.Background()
	s := NewLocal(t.TempDir(), Options{})
	mustWrite(t, s, "patient/patient.000.ndjson", "old")
	st, err := s.Stage(ctx, "patient")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := st.Create("patient.000.ndjson")
	w.Write([]byte("new"))
	w.Commit()
	ls := st.(*localStage)
	old := filepath.Join(s.tmpDir(), "patient"+oldInfix+"crash")
	if err := os.Rename(s.Location("patient"), old); err != nil { // the first rename, then the crash
		t.Fatal(err)
	}
	if got := readDirNames(t, s, "patient"); got["patient.000.ndjson"] != "old" {
		t.Errorf("ReadDir after the crash = %v, want the old version", got)
	}
	if _, err := s.Stage(ctx, "patient"); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, s, "patient/patient.000.ndjson"); got != "old" {
		t.Errorf("after recovery: %q, want old", got)
	}
	if _, err := os.Stat(ls.staging); !os.IsNotExist(err) {
		t.Errorf("the crashed run's staging folder is still there: %v", err)
	}
}

// Earlier versions staged tables as OUTPUT/.tmp-<table>-* and moved old ones to OUTPUT/<table>.old-*;
// a folder left so by a killed run is cleared too (issue 10 item 8).
func TestLocalStageClearsLegacyLeftovers(t *testing.T) {
	root := t.TempDir()
	s := NewLocal(root, Options{})
	mustWrite(t, s, "observation/observation.000.ndjson", "cur")
	mustWrite(t, s, ".tmp-observation-123/observation.000.ndjson", "partial")
	mustWrite(t, s, "observation.old-abc/observation.000.ndjson", "older")
	mustWrite(t, s, ".tmp-observationx-1/keep", "another table's")
	st, err := s.Stage(context.Background(), "observation")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	got := listNames(t, s, "")
	want := []string{".tmp-observationx-1/keep", "observation/observation.000.ndjson"}
	if !slices.Equal(got, want) {
		t.Errorf("after Stage: %q, want %q", got, want)
	}
}

// TestLocalListOfAFolderBeingCreatedListsOrIsEmpty: two first runs into a new OUTPUT list a lock
// folder while the other run creates it; a folder missing when the listing began lists nothing,
// never an error (it failed a run with "lstat OUTPUT: no such file or directory", exit 1).
func TestLocalListOfAFolderBeingCreatedListsOrIsEmpty(t *testing.T) {
	for i := range 300 {
		s := NewLocal(filepath.Join(t.TempDir(), "out"), Options{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = os.MkdirAll(s.Location("a/b/c"), 0o755)
		}()
		err := s.List(context.Background(), "a/b/c", func(Info) error { return nil })
		<-done
		if err != nil {
			t.Fatalf("try %d: listing a folder being created: %v", i, err)
		}
	}
}
