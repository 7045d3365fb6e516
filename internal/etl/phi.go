package etl

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/deid"
	"cumulus-etl/internal/store"
)

// The PHI folder holds what must never leave the hospital, in Cumulus ETL's formats:
// codebook.json (the salt that turns real ids into research ids) and context.json.

const (
	codebookFile = "codebook.json"
	contextFile  = "context.json"
	// maxCodebookBytes bounds what is read as a codebook: version-0 codebooks of Cumulus ETL kept
	// every id mapping and can be large, but a wrong file must not fill memory.
	maxCodebookBytes = 1 << 30
)

// codebookState is the codebook a run uses and what is stored of it.
type codebookState struct {
	cb     *deid.Codebook
	stored bool // codebook.json exists (false: cb is new, drawn by this run)
}

// loadCodebook reads PHI/codebook.json, or draws a new codebook when there is none. Nothing is
// written: a refused run leaves no new secret behind (see storeCodebook).
func loadCodebook(ctx context.Context, phi store.Store) (codebookState, error) {
	data, err := store.ReadFile(ctx, phi, codebookFile, maxCodebookBytes)
	var cb *deid.Codebook
	switch {
	case errors.Is(err, store.ErrNotExist):
		cb, err = deid.NewCodebook(rand.Reader)
	case err == nil:
		cb, err = deid.ParseCodebook(data, rand.Reader)
	}
	if err != nil {
		return codebookState{}, fmt.Errorf("reading codebook %s: %w", phi.Location(codebookFile), err)
	}
	return codebookState{cb: cb, stored: data != nil}, nil
}

// errCodebookRaced: another run stored a codebook between our read and our write; load it again.
var errCodebookRaced = errors.New("another run created the codebook first")

// storeCodebook saves a new codebook only if none exists, so that runs starting together end up
// with one salt ever (issue 10 item 1), and rewrites an upgraded one (version 0 gets a
// codebook_id). The caller holds the PHI lock for the rewrite.
func storeCodebook(ctx context.Context, phi store.Store, st codebookState) error {
	if st.stored && !st.cb.Modified() {
		return nil
	}
	out, err := st.cb.Marshal()
	if err != nil {
		return err
	}
	err = store.WriteFile(ctx, phi, codebookFile, out, store.CreateOptions{IfAbsent: !st.stored})
	if errors.Is(err, store.ErrExist) {
		return errCodebookRaced
	}
	if err != nil {
		return fmt.Errorf("saving codebook %s: %w", phi.Location(codebookFile), err)
	}
	return nil
}

// jobContext is PHI/context.json as Cumulus ETL writes it.
type jobContext struct {
	LastSuccessfulDatetime  string `json:"last_successful_datetime"`
	LastSuccessfulInputDir  string `json:"last_successful_input_dir"`
	LastSuccessfulOutputDir string `json:"last_successful_output_dir"`
}

// saveContext records a successful run in PHI/context.json, keeping any fields we don't know.
func saveContext(ctx context.Context, phi store.Store, c jobContext) error {
	fields := map[string]any{}
	if data, err := store.ReadFile(ctx, phi, contextFile, 16<<20); err == nil {
		_ = json.Unmarshal(data, &fields) // a damaged context is simply replaced
	}
	fields["last_successful_datetime"] = c.LastSuccessfulDatetime
	fields["last_successful_input_dir"] = c.LastSuccessfulInputDir
	fields["last_successful_output_dir"] = c.LastSuccessfulOutputDir
	return writeJSONFile(ctx, phi, contextFile, fields, store.CreateOptions{})
}

// writeJSONFile writes v indented by four spaces, like Cumulus ETL's json files, atomically.
func writeJSONFile(ctx context.Context, s store.Store, name string, v any, opts store.CreateOptions) error {
	data, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	return store.WriteFile(ctx, s, name, append(data, '\n'), opts)
}

// isoTime formats t as Python's isoformat does for whole seconds ("2021-09-14T21:23:45+00:00").
func isoTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05-07:00")
}
