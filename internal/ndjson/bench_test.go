package ndjson

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/input/inputtest"
)

// decompressed writes plain copies of the gzipped sample files into dir.
func decompressed(b *testing.B, gzipped []string, dir string) []string {
	b.Helper()
	var plain []string
	for _, path := range gzipped {
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".gz"))
		src, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewReader(src, path) // only used for its decompressed stream
		if err != nil {
			b.Fatal(err)
		}
		dst, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(dst, r.br); err != nil {
			b.Fatal(err)
		}
		for _, c := range []io.Closer{dst, r, src} {
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		}
		plain = append(plain, out)
	}
	return plain
}

func readFiles(b *testing.B, paths []string) {
	for _, path := range paths {
		r, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for r.Next() {
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// BenchmarkReader reads every synthea-60 file; MB/s is of decompressed bytes.
func BenchmarkReader(b *testing.B) {
	gzipped, err := filepath.Glob(filepath.Join(inputtest.Synthea60(b), "*.ndjson.gz"))
	if err != nil || len(gzipped) == 0 {
		b.Fatalf("no sample files: %v", err)
	}
	plain := decompressed(b, gzipped, b.TempDir())
	var size int64
	for _, p := range plain {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	for _, bc := range []struct {
		name  string
		paths []string
	}{{"plain", plain}, {"gzip", gzipped}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				readFiles(b, bc.paths)
			}
		})
	}
}
