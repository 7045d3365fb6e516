// Package scratch makes the private temporary folder of one run (spill files, an on-the-fly
// export), named and marked so that a later run can tell its owner died and remove it: a run
// killed with kill -9 leaves no de-identified rows or exported PHI in the temporary folder for good.
package scratch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"cumulus-etl/internal/proc"
)

const (
	prefix    = "cumulus-etl-run-"
	newPrefix = ".cumulus-etl-new-" // a folder being made: renamed to prefix+... once it names its owner
	ownerFile = "owner.json"
)

// Dir is one run's scratch folder.
type Dir struct{ path string }

// New removes the scratch folders that dead runs of this machine left in parent ("" means the
// system's temporary folder), then creates this run's, private (0700).
func New(parent string) (*Dir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	Sweep(parent)
	made, err := os.MkdirTemp(parent, newPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary folder: %w", err)
	}
	path := filepath.Join(parent, prefix+strings.TrimPrefix(filepath.Base(made), newPrefix))
	owner, err := json.Marshal(proc.Self())
	if err == nil {
		err = os.WriteFile(filepath.Join(made, ownerFile), owner, 0o600)
	}
	if err == nil {
		err = os.Rename(made, path) // another run's Sweep sees the folder only with its owner named
	}
	if err != nil {
		os.RemoveAll(made)
		return nil, fmt.Errorf("creating a temporary folder: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path returns the folder.
func (d *Dir) Path() string { return d.path }

// MkdirTemp creates a new folder inside the scratch folder, as os.MkdirTemp does.
func (d *Dir) MkdirTemp(pattern string) (string, error) {
	return os.MkdirTemp(d.path, pattern)
}

// Remove deletes the scratch folder and everything in it.
func (d *Dir) Remove() error { return os.RemoveAll(d.path) }

// Sweep removes the scratch folders in parent whose owner is known dead (see proc.Dead). It returns
// how many it removed; folders it cannot read, or whose owner it cannot tell, are left alone.
func Sweep(parent string) int {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) && !strings.HasPrefix(e.Name(), newPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if abandoned(dir) && os.RemoveAll(dir) == nil {
			removed++
		}
	}
	return removed
}

func abandoned(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	var owner proc.ID
	if err != nil || json.Unmarshal(data, &owner) != nil {
		return false
	}
	return proc.Dead(owner)
}
