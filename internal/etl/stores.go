package etl

import (
	"context"
	"errors"

	"cumulus-etl/internal/deid"
	"cumulus-etl/internal/store"
)

// stores are the folders of one run, opened through package store: nothing in etl touches their
// files directly.
type stores struct {
	in, out, phi store.Store
	errorsTo     store.Store // nil without --errors-to
}

// openStores opens OUTPUT, PHI and --errors-to, and INPUT too when withInput (Preflight runs
// before a URL INPUT is exported into a folder).
func openStores(ctx context.Context, cfg Config, withInput bool) (stores, error) {
	var st stores
	var err error
	public, private := cfg.Storage, cfg.Storage
	public.Private, private.Private = false, true
	if withInput {
		if st.in, err = store.Open(ctx, cfg.InputDir, public); err != nil {
			return st, err
		}
	}
	if st.out, err = store.Open(ctx, cfg.OutputDir, public); err != nil {
		return st, err
	}
	if st.phi, err = store.Open(ctx, cfg.PHIDir, private); err != nil {
		return st, err
	}
	if cfg.ErrorsTo != "" {
		if st.errorsTo, err = store.Open(ctx, cfg.ErrorsTo, private); err != nil {
			return st, err
		}
	}
	return st, nil
}

// setUpCodebook loads or creates the codebook, checked against OUTPUT before anything is written
// (the caller holds OUTPUT's lock, so no other run registers a job meanwhile). Of several first
// runs, the first to store its codebook wins and the others use it; an old codebook is upgraded
// under PHI's lock, read again there so that two runs cannot give it two codebook ids.
func setUpCodebook(ctx context.Context, st stores, locks *runLocks) (*deid.Codebook, error) {
	for {
		cb, err := loadCodebook(ctx, st.phi)
		if err != nil {
			return nil, err
		}
		if cb.stored && cb.cb.Modified() {
			err = locks.brief(ctx, st.phi, phiLock, "etl: upgrading the codebook", func() error {
				if cb, err = loadCodebook(ctx, st.phi); err != nil {
					return err
				}
				if err := checkCodebookID(ctx, st.out, cb.cb.ID()); err != nil {
					return err
				}
				return storeCodebook(ctx, st.phi, cb)
			})
			return cb.cb, err
		}
		if err := checkCodebookID(ctx, st.out, cb.cb.ID()); err != nil {
			return nil, err
		}
		err = storeCodebook(ctx, st.phi, cb)
		if errors.Is(err, errCodebookRaced) {
			continue
		}
		return cb.cb, err
	}
}
