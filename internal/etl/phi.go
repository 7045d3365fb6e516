package etl

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/deid"
	"cumulus-etl/internal/store"
)

// The PHI folder holds what must never leave the hospital, in Cumulus ETL's formats:
// codebook.json (the salt that turns real ids into research ids) and context.json.

const codebookFile = "codebook.json"

// openCodebook reads PHI/codebook.json, or makes a new codebook when there is none. Nothing is
// written yet: save stores a new or upgraded codebook (version 0, no codebook_id) with mode 0600,
// once the caller has checked it against OUTPUT, so a refused run leaves no new secret behind.
func openCodebook(phiDir string) (cb *deid.Codebook, save func() error, err error) {
	path := filepath.Join(phiDir, codebookFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		cb, err = deid.NewCodebook(rand.Reader)
	case err == nil:
		cb, err = deid.ParseCodebook(data, rand.Reader)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading codebook %s: %w", path, err)
	}
	save = func() error {
		if data != nil && !cb.Modified() {
			return nil
		}
		if err := os.MkdirAll(phiDir, 0o700); err != nil {
			return fmt.Errorf("creating PHI folder: %w", err)
		}
		out, err := cb.Marshal()
		if err != nil {
			return err
		}
		if err := store.WriteFileAtomic(path, out, 0o600); err != nil {
			return fmt.Errorf("saving codebook %s: %w", path, err)
		}
		return nil
	}
	return cb, save, nil
}

// jobContext is PHI/context.json as Cumulus ETL writes it.
type jobContext struct {
	LastSuccessfulDatetime  string `json:"last_successful_datetime"`
	LastSuccessfulInputDir  string `json:"last_successful_input_dir"`
	LastSuccessfulOutputDir string `json:"last_successful_output_dir"`
}

// saveContext records a successful run in PHI/context.json, keeping any fields we don't know.
func saveContext(phiDir string, c jobContext) error {
	path := filepath.Join(phiDir, "context.json")
	fields := map[string]any{}
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &fields) // a damaged context is simply replaced
	}
	fields["last_successful_datetime"] = c.LastSuccessfulDatetime
	fields["last_successful_input_dir"] = c.LastSuccessfulInputDir
	fields["last_successful_output_dir"] = c.LastSuccessfulOutputDir
	return writeJSONFile(path, fields, 0o600)
}

// writeJSONFile writes v indented by four spaces, like Cumulus ETL's json files, atomically.
func writeJSONFile(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(path, append(data, '\n'), perm)
}

// isoTime formats t as Python's isoformat does for whole seconds ("2021-09-14T21:23:45+00:00").
func isoTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05-07:00")
}
