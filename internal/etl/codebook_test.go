package etl

import (
	"context"
	"errors"
	"testing"

	"cumulus-etl/internal/store"
)

// Issue 10 item 1: two first runs each draw a salt; only the first to store it wins, and the
// other uses the stored one, so OUTPUT is never hashed with two salts.
func TestSetUpCodebook_OneSaltWhenAnotherRunStoresFirst(t *testing.T) {
	ctx := context.Background()
	st := stores{phi: store.NewLocal(t.TempDir(), store.Options{Private: true}), out: store.NewLocal(t.TempDir(), store.Options{})}
	mine, err := loadCodebook(ctx, st.phi)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := loadCodebook(ctx, st.phi)
	if err != nil {
		t.Fatal(err)
	}
	if mine.cb.ID() == theirs.cb.ID() {
		t.Fatal("two new codebooks share an id")
	}
	if err := storeCodebook(ctx, st.phi, theirs); err != nil {
		t.Fatal(err)
	}
	if err := storeCodebook(ctx, st.phi, mine); !errors.Is(err, errCodebookRaced) {
		t.Fatalf("storing a second new codebook: %v, want errCodebookRaced", err)
	}
	_, locks := newRunLocks(ctx, 0)
	defer locks.releaseAll()
	got, err := setUpCodebook(ctx, st, locks)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != theirs.cb.ID() {
		t.Errorf("run uses codebook %s, want the stored %s", got.ID(), theirs.cb.ID())
	}
}
