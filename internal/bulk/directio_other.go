//go:build !linux

package bulk

import "os"

// openDirect opens a download's partial file; only Linux writes it with O_DIRECT.
func openDirect(path string, flags int, _ int64) (*os.File, bool, error) {
	f, err := os.OpenFile(path, flags, 0o600)
	return f, false, err
}

// endDirect is never called where openDirect does not open files with O_DIRECT.
func endDirect(*os.File) error { return nil }
