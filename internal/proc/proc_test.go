package proc

import (
	"os/exec"
	"runtime"
	"testing"
)

func TestDead(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("liveness is only known on Linux")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := ID{Host: Self().Host, Boot: Self().Boot, PID: cmd.Process.Pid, Start: startTime(cmd.Process.Pid)}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	me := Self()
	tests := []struct {
		name string
		id   ID
		want bool
	}{
		{"this process runs", me, false},
		{"a finished child is dead", child, true},
		{"same pid, another start time: the pid was reused", ID{Host: me.Host, Boot: me.Boot, PID: me.PID, Start: "1"}, true},
		{"another boot of this host: rebooted since", ID{Host: me.Host, Boot: "other", PID: me.PID, Start: me.Start}, true},
		{"another host: cannot tell", ID{Host: me.Host + "-x", Boot: me.Boot, PID: 999999, Start: "1"}, false},
		{"no boot id recorded: cannot tell", ID{Host: me.Host, PID: 999999, Start: "1"}, false},
	}
	for _, tt := range tests {
		if got := Dead(tt.id); got != tt.want {
			t.Errorf("%s: Dead(%+v) = %v, want %v", tt.name, tt.id, got, tt.want)
		}
	}
}
