package scratch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"cumulus-etl/internal/proc"
)

// Issue 10 item 8: the spill folders of a killed run are removed by the next run.
func TestNew_Item8_RemovesDeadRunsFolders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("liveness is only known on Linux")
	}
	parent := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := proc.Self()
	dead.PID, dead.Start = cmd.Process.Pid, "1"
	plant := func(name string, owner *proc.ID, files ...string) string {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != nil {
			data, _ := json.Marshal(owner)
			os.WriteFile(filepath.Join(dir, ownerFile), data, 0o600)
		}
		for _, f := range files {
			os.WriteFile(filepath.Join(dir, f), []byte("rows"), 0o600)
		}
		return dir
	}
	me := proc.Self()
	other := proc.ID{Host: "elsewhere", PID: 1}
	deadDir := plant(prefix+"dead", &dead, "keys-000")
	liveDir := plant(prefix+"live", &me, "keys-000")
	otherDir := plant(prefix+"other-host", &other, "keys-000")
	halfMade := plant(newPrefix+"killed", &dead)
	unownedDir := plant(prefix+"unowned", nil, "x")
	notOurs := plant("something-else", &dead)

	d, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	for dir, want := range map[string]bool{deadDir: false, halfMade: false, liveDir: true, otherDir: true, unownedDir: true, notOurs: true, d.Path(): true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	if fi, _ := os.Stat(d.Path()); fi.Mode().Perm() != 0o700 {
		t.Errorf("scratch folder mode %v, want 0700", fi.Mode().Perm())
	}
}
