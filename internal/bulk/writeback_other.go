//go:build !linux

package bulk

import "os"

// startWriteback is a no-op where sync_file_range does not exist; the final fsync does the work.
func startWriteback(*os.File, int64, int64) {}
