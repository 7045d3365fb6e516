package bulk

import (
	"errors"
	"os"
	"syscall"
)

// openDirect opens a download's partial file for writing with O_DIRECT when the file's size so
// far allows aligned writes: its bytes then go from the buffer to the disk without the page
// cache. On this kind of VM an fsync of 490 MB written through the page cache cost over 2 s of
// CPU, the same bytes written with O_DIRECT and then fsynced 0.2 s (issue 12). A file system
// that refuses O_DIRECT (EINVAL, or EOPNOTSUPP on some) gets a plain open.
func openDirect(path string, flags int, offset int64) (f *os.File, direct bool, err error) {
	if offset%directAlign == 0 {
		f, err = os.OpenFile(path, flags|syscall.O_DIRECT, 0o600)
		if err == nil {
			return f, true, nil
		}
		if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EOPNOTSUPP) {
			return nil, false, err
		}
	}
	f, err = os.OpenFile(path, flags, 0o600)
	return f, false, err
}

// endDirect turns O_DIRECT off for f, for a write that is not aligned.
func endDirect(f *os.File) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = raw.Control(func(fd uintptr) {
		flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			opErr = e
			return
		}
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, flags&^syscall.O_DIRECT); e != 0 {
			opErr = e
		}
	})
	return errors.Join(err, opErr)
}
