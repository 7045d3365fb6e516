// Command scale-export multiplies a bulk FHIR export folder for benchmarks: every copy gets its
// resource ids and references prefixed ("c1-", "c2-", ...) so the copies are distinct resources.
//
//	go run ./cmd/scale-export -in ../shared/data/synthea-60 -out /tmp/big -copies 50 [-one-file-per-type]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"cumulus-etl/internal/synth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "scale-export:", err)
		os.Exit(1)
	}
}

// run parses args, scales the export and prints what was written and how fast.
func run(args []string, stdout io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("scale-export", flag.ContinueOnError)
	in := fs.String("in", "", "bulk export folder to copy")
	out := fs.String("out", "", "output folder (created if missing)")
	copies := fs.Int("copies", 10, "number of copies")
	oneFile := fs.Bool("one-file-per-type", false, "write all copies of a type into one file instead of one file per copy")
	workers := fs.Int("workers", 0, "files written at once (0 = number of CPUs)")
	level := fs.Int("gzip-level", 0, "gzip level of .gz outputs, 1 (fast) to 9 (small); 0 = default 6")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	start := now()
	stats, err := synth.Scale(*in, *out, *copies, synth.ScaleOptions{OneFilePerType: *oneFile, Workers: *workers, GzipLevel: *level})
	if err != nil {
		return err
	}
	secs := now().Sub(start).Seconds()
	fmt.Fprintf(stdout, "wrote %d files, %d resources, %.1f MB uncompressed in %.1fs (%.0f MB/s, %.0f resources/s)\n",
		stats.Files, stats.Resources, float64(stats.Bytes)/1e6, secs, float64(stats.Bytes)/1e6/secs, float64(stats.Resources)/secs)
	return nil
}
