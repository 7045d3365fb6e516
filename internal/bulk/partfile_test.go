package bulk

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestIssue12PartFileKeepsEveryByte: a partial file written with O_DIRECT where the file system
// allows it holds exactly the bytes written, whatever their sizes and alignment: whole aligned
// chunks, a file's unaligned last bytes, a buffer that does not start on a page, and a file
// continued (Range resume) at an offset O_DIRECT cannot write at. The page cache's own folder
// (/dev/shm, tmpfs, which may refuse O_DIRECT) gets the same result.
func TestIssue12PartFileKeepsEveryByte(t *testing.T) {
	dirs := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "partfile")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(shm) })
			dirs = append(dirs, shm)
		}
	}
	rng := rand.New(rand.NewPCG(4096, 1))
	data := make([]byte, 3*streamChunk+1234)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	buf := alignedBuffer(streamChunk + directAlign)
	cases := []struct {
		name   string
		writes []int // sizes of the writes, in order
		resume int   // bytes written by an earlier run (continued with O_APPEND), 0 for none
		skew   int   // how far past a page boundary the buffer starts
	}{
		{"aligned chunks then the last bytes", []int{streamChunk, streamChunk, streamChunk, 1234}, 0, 0},
		{"a file smaller than a page", []int{1234}, 0, 0},
		{"a broken connection's short write, then aligned ones", []int{1000, directAlign, streamChunk}, 0, 0},
		{"a buffer that does not start on a page", []int{streamChunk, streamChunk}, 0, 1},
		{"resumed at an offset that is not aligned", []int{streamChunk, 777}, 4097, 0},
		{"resumed at an aligned offset", []int{streamChunk, 777}, 2 * directAlign, 0},
	}
	for _, dir := range dirs {
		for _, tc := range cases {
			t.Run(filepath.Base(dir)+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(dir, "f.part")
				if err := os.WriteFile(path, data[:tc.resume], 0o600); err != nil {
					t.Fatal(err)
				}
				flags := os.O_WRONLY | os.O_APPEND
				if tc.resume == 0 {
					flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
				}
				f, direct, err := openDirect(path, flags, int64(tc.resume))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("opened with O_DIRECT: %v", direct)
				w := &partFile{f: f, off: int64(tc.resume), direct: direct}
				off := tc.resume
				for _, n := range tc.writes {
					b := buf[tc.skew : tc.skew+n]
					copy(b, data[off:off+n])
					if _, err := w.Write(b); err != nil {
						t.Fatalf("writing %d bytes at %d (direct %v): %v", n, off, w.direct, err)
					}
					off += n
				}
				if err := f.Sync(); err != nil {
					t.Fatal(err)
				}
				f.Close()
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data[:off]) {
					t.Fatalf("file holds %d bytes, not the %d written (or not the same ones)", len(got), off)
				}
			})
		}
	}
}
