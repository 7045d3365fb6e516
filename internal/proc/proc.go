// Package proc identifies this process (host, boot, pid and start time) and tells whether a process
// so identified has died on this machine, so that what a dead run left behind (a lock, a scratch
// folder) can be cleared at once instead of after a timeout.
package proc

import (
	"fmt"
	"os"
	"sync"
)

// ID names one process among all machines and reboots.
type ID struct {
	Host  string `json:"host"`
	Boot  string `json:"boot_id,omitempty"`       // changes on every reboot (Linux); "" when unknown
	PID   int    `json:"pid"`                     //
	Start string `json:"process_start,omitempty"` // the process's start time since boot (Linux); "" when unknown
}

// String describes the process for messages: "pid 123 on host h".
func (id ID) String() string { return fmt.Sprintf("pid %d on host %s", id.PID, id.Host) }

var (
	selfOnce sync.Once
	self     ID
)

// Self returns this process's ID.
func Self() ID {
	selfOnce.Do(func() {
		host, _ := os.Hostname()
		pid := os.Getpid()
		self = ID{Host: host, Boot: bootID(), PID: pid, Start: startTime(pid)}
	})
	return self
}

// Dead reports whether id is a process of this machine that no longer runs: the machine has
// rebooted since, or no process with its pid and start time exists. It is false whenever that
// cannot be told (another host, or a system that does not say), so callers fall back to a timeout.
func Dead(id ID) bool {
	me := Self()
	if id.Host == "" || id.Host != me.Host || me.Boot == "" || id.Boot == "" {
		return false
	}
	if id.Boot != me.Boot {
		return true // rebooted: every process of the earlier boot is gone
	}
	if id.PID <= 0 || id.Start == "" {
		return false
	}
	start := startTime(id.PID)
	return start != id.Start // "" (no such process) or another process that reuses the pid
}
