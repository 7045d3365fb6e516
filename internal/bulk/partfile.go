package bulk

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// directAlign is the alignment O_DIRECT writes keep, in memory, length and file offset: the
// page size, a multiple of every disk's logical block size.
const directAlign = 4096

// partFile writes a partial file opened by openDirect. Writes stay direct while they are
// aligned, which every buffer copyBody fills is; the first one that is not (a file's last bytes,
// or what a broken connection left) turns O_DIRECT off for the rest of the file, so the last
// page goes through the page cache and the fsync at commit writes it.
type partFile struct {
	f      *os.File
	off    int64
	direct bool
	saveAt int64        // once the file holds this many bytes,
	save   func() error // save is called (once)
}

func (w *partFile) Write(b []byte) (int, error) {
	if w.direct && (len(b)%directAlign != 0 || w.off%directAlign != 0 || !aligned(b)) {
		if err := w.endDirect(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(b)
	if w.direct && n == 0 && errors.Is(err, syscall.EINVAL) {
		// The file system took O_DIRECT at open but refuses these writes (a block size over
		// directAlign, some FUSE or network file systems): go on without it.
		if err = w.endDirect(); err == nil {
			n, err = w.f.Write(b)
		}
	}
	w.off += int64(n)
	if err == nil && w.save != nil && w.off >= w.saveAt {
		save := w.save
		w.save = nil
		err = save()
	}
	return n, err
}

// endDirect turns O_DIRECT off for the rest of the file.
func (w *partFile) endDirect() error {
	if err := endDirect(w.f); err != nil {
		return err
	}
	w.direct = false
	return nil
}

// aligned reports whether b starts at a directAlign boundary in memory.
func aligned(b []byte) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign == 0
}

// alignedBuffer returns n bytes that start at a directAlign boundary.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign)) % directAlign
	return b[skip : skip+n : skip+n]
}
