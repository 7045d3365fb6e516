// Command gen-sample writes a deterministic synthetic FHIR R4 bulk export folder and prints how many
// resources of each type it wrote.
//
//	go run ./cmd/gen-sample -out DIR -patients N -seed S [-gzip] [-phi FILE]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"cumulus-etl/internal/synth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen-sample:", err)
		os.Exit(1)
	}
}

// run parses args, generates the export and prints the counts to stdout.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen-sample", flag.ContinueOnError)
	out := fs.String("out", "", "export folder to write (created if missing)")
	patients := fs.Int("patients", 20, "number of patients")
	seed := fs.Int64("seed", 1, "random seed; the same seed gives byte-identical output")
	gz := fs.Bool("gzip", false, "write <Type>.000.ndjson.gz instead of plain ndjson")
	phi := fs.String("phi", "", "also write every planted PHI string to this file, one per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	m, err := synth.Generate(*out, synth.Options{Patients: *patients, Seed: *seed, Gzip: *gz})
	if err != nil {
		return err
	}
	if *phi != "" {
		if err := os.WriteFile(*phi, []byte(strings.Join(m.PlantedPHI, "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing planted PHI list %s: %w", *phi, err)
		}
	}
	types := make([]string, 0, len(m.Counts))
	total := 0
	for t, n := range m.Counts {
		types = append(types, t)
		total += n
	}
	slices.Sort(types)
	for _, t := range types {
		fmt.Fprintf(stdout, "%-20s %6d\n", t, m.Counts[t])
	}
	fmt.Fprintf(stdout, "%-20s %6d\n%-20s %6d\n", "total", total, "planted PHI strings", len(m.PlantedPHI))
	return nil
}
