package bulk

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to begin writing [off, off+n) of f to disk now, without
// waiting, so the fsync when the file completes has little left to do (Linux only).
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}
