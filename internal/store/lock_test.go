package store

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cumulus-etl/internal/proc"
)

// The lock tests run on every backend, like the contract (see testLocks' callers).

func TestLocalLocks(t *testing.T) {
	testLocks(t, func(t *testing.T) Store { return NewLocal(filepath.Join(t.TempDir(), "out"), Options{}) })
}

func testLocks(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"a held lock is refused with its owner named", lockRefusesHeld},
		{"a released lock is taken at once", lockAfterRelease},
		{"Wait waits for the holder to release", lockWaits},
		{"an expired lock is taken over, a live one of another machine is not", lockExpiredTakeover},
		{"a holder learns that its lock was taken over", lockHolderLearnsTakeover},
		{"a holder that cannot renew gives the lock up before it expires", lockLostWhenRenewalsFail},
		{"the lock of a dead process on this machine is taken over at once", lockDeadOwner},
		{"of many runs racing for a free lock exactly one wins", lockRace},
		{"a damaged lock object is an error saying what to delete", lockDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func mustAcquire(t *testing.T, s Store, opts LockOptions) *Lock {
	t.Helper()
	l, err := Acquire(context.Background(), s, "output", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release(context.Background()) })
	return l
}

func lockRefusesHeld(t *testing.T, s Store) {
	mustAcquire(t, s, LockOptions{Purpose: "etl: tables"})
	_, err := Acquire(context.Background(), s, "output", LockOptions{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: %v, want a LockedError", err)
	}
	if le.Owner.ID != proc.Self() || le.Owner.Purpose != "etl: tables" {
		t.Errorf("owner = %+v", le.Owner)
	}
	for _, want := range []string{"pid ", proc.Self().Host, "etl: tables", "started ", lockDir("output")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
}

func lockAfterRelease(t *testing.T, s Store) {
	ctx := context.Background()
	for i := range 3 {
		l, err := Acquire(ctx, s, "output", LockOptions{})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if gens := listNames(t, s, lockDir("output")); len(gens) != 1 {
		t.Errorf("lock objects left: %q, want one (the last, released)", gens)
	}
}

func lockWaits(t *testing.T, s Store) {
	ctx := context.Background()
	first, err := Acquire(ctx, s, "output", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		first.Release(ctx)
	}()
	second, err := Acquire(ctx, s, "output", LockOptions{Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	second.Release(ctx)
}

// plantLock writes generation gen of the lock "output" as another run would have.
func plantLock(t *testing.T, s Store, gen uint64, owner LockOwner) {
	t.Helper()
	l := &Lock{s: s, obj: genName("output", gen)}
	if err := l.write(context.Background(), owner, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// elsewhere is a run on another machine, whose liveness cannot be checked.
var elsewhere = proc.ID{Host: "other-host.example", PID: 4242}

func lockExpiredTakeover(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	plantLock(t, s, 3, LockOwner{ID: elsewhere, Purpose: "live", Acquired: now, Expires: now.Add(time.Hour)})
	if _, err := Acquire(ctx, s, "output", LockOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a live lock of another machine: %v, want ErrLocked", err)
	}
	plantLock(t, s, 3, LockOwner{ID: elsewhere, Purpose: "expired", Acquired: now.Add(-time.Hour), Expires: now.Add(-time.Second)})
	got := mustAcquire(t, s, LockOptions{})
	if got.gen != 4 {
		t.Errorf("took generation %d, want 4", got.gen)
	}
	if gens := listNames(t, s, lockDir("output")); len(gens) != 1 {
		t.Errorf("lock objects after the takeover: %q, want only the new one", gens)
	}
}

// A holder whose lock was taken over (it was paused past its expiry, say) notices at its next
// renewal and reports the loss instead of writing on.
func lockHolderLearnsTakeover(t *testing.T, s Store) {
	held := mustAcquire(t, s, LockOptions{TTL: 400 * time.Millisecond})
	now := time.Now()
	plantLock(t, s, held.gen+1, LockOwner{ID: elsewhere, Acquired: now, Expires: now.Add(time.Hour)})
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder never noticed it lost the lock")
	}
	if !errors.Is(held.Err(), ErrLockLost) || !strings.Contains(held.Err().Error(), "took it over") {
		t.Errorf("Err() = %v", held.Err())
	}
}

// failingStore refuses every write while fail is set, as a storage outage would.
type failingStore struct {
	Store
	fail atomic.Bool
}

func (f *failingStore) Create(ctx context.Context, name string, opts CreateOptions) (Writer, error) {
	if f.fail.Load() {
		return nil, errors.New("storage unavailable")
	}
	return f.Store.Create(ctx, name, opts)
}

// A holder that cannot renew gives the lock up before it expires, so no other run can take it over
// while this one still believes it holds it.
func lockLostWhenRenewalsFail(t *testing.T, s Store) {
	fs := &failingStore{Store: s}
	held := mustAcquire(t, fs, LockOptions{TTL: 400 * time.Millisecond})
	expires := held.Owner().Expires
	fs.fail.Store(true)
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder never gave up the lock")
	}
	if time.Now().After(expires) {
		t.Errorf("gave the lock up at %s, after it expired (%s)", time.Now(), expires)
	}
	if !errors.Is(held.Err(), ErrLockLost) {
		t.Errorf("Err() = %v", held.Err())
	}
}

// lockDeadOwner plants a lock owned by a process that has exited (as kill -9 leaves it).
func lockDeadOwner(t *testing.T, s Store) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := proc.Self()
	dead.PID, dead.Start = cmd.Process.Pid, "1"
	if !proc.Dead(dead) {
		t.Skip("process liveness is not known on this system")
	}
	plantLock(t, s, 7, LockOwner{ID: dead, Purpose: "killed run", Acquired: time.Now(), Expires: time.Now().Add(time.Hour)})
	got := mustAcquire(t, s, LockOptions{})
	if got.gen != 8 {
		t.Errorf("took generation %d, want 8", got.gen)
	}
}

func lockRace(t *testing.T, s Store) {
	ctx := context.Background()
	var winners atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := Acquire(ctx, s, "output", LockOptions{})
			if err == nil {
				winners.Add(1)
				t.Cleanup(func() { l.Release(ctx) }) // held until the test ends
				return
			}
			if !errors.Is(err, ErrLocked) {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := winners.Load(); n != 1 {
		t.Errorf("%d runs hold the lock, want 1", n)
	}
}

func lockDamaged(t *testing.T, s Store) {
	mustWrite(t, s, genName("output", 3), "{not json")
	_, err := Acquire(context.Background(), s, "output", LockOptions{})
	if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "delete") {
		t.Errorf("err = %v", err)
	}
}
