package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/proc"
)

// Run locks, built only on what every Store offers (Create with IfAbsent, List, Open, Delete), so
// a local folder and an S3 bucket lock the same way.
//
// The lock called NAME is the set of objects ControlDir/locks/NAME/<generation>.json. Its state is
// the one with the highest generation: held by the owner it names until it is released, it
// expires (not renewed for the TTL) or its owner is known dead (same machine, pid gone: see
// proc.Dead). To take a free lock, a run creates generation+1 only if absent: of two runs racing,
// exactly one wins, and a generation is never reused, so a late release or renewal of an old one
// changes nothing. The holder renews its object every TTL/4 and gives the lock up (Lost) when a
// higher generation appears or a renewal could not be made before it expired.

// DefaultLockTTL is how long a lock lives without renewal: a run on another machine that died
// blocks the lock this long at most.
const DefaultLockTTL = 2 * time.Minute

// Errors of Acquire and Lock.Err.
var (
	// ErrLocked: another live run holds the lock (the error is a *LockedError naming it).
	ErrLocked = errors.New("locked by another run")
	// ErrLockLost: the lock could not be renewed in time, or another run took it over.
	ErrLockLost = errors.New("lost the lock")
)

// LockOptions tune Acquire. The zero value fails at once on a held lock and uses DefaultLockTTL.
type LockOptions struct {
	Wait    time.Duration    // how long to wait for a held lock before failing
	TTL     time.Duration    // lifetime without renewal; 0 means DefaultLockTTL
	Purpose string           // recorded in the lock for whoever finds it held ("etl: table condition")
	Now     func() time.Time // nil means time.Now
}

// LockOwner is the content of a lock object.
type LockOwner struct {
	proc.ID
	Purpose  string    `json:"purpose"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
	Released bool      `json:"released,omitempty"`
}

// LockedError says who holds a lock Acquire could not get.
type LockedError struct {
	Location string // the lock's folder, to delete if its owner is known to be dead
	Owner    LockOwner
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is held by another run (%s, %s, started %s; the lock expires %s unless that run renews it). "+
		"Wait for it to finish; if it is dead on another machine, delete %s",
		e.Location, e.Owner.ID, e.Owner.Purpose, e.Owner.Acquired.Format(time.RFC3339), e.Owner.Expires.Format(time.RFC3339), e.Location)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a held run lock; it renews itself until Release.
type Lock struct {
	s          Store
	name, obj  string
	gen        uint64
	owner      LockOwner
	ttl        time.Duration
	now        func() time.Time
	stop       chan struct{}
	stopped    chan struct{}
	lost       chan struct{}
	mu         sync.Mutex
	err        error // why the lock was lost
	renewedTil time.Time
}

// lockDir is the folder of the lock's generations.
func lockDir(name string) string { return Join(ControlDir, "locks", name) }

func genName(name string, gen uint64) string {
	return Join(lockDir(name), fmt.Sprintf("%020d.json", gen))
}

// Acquire takes the lock name of store s, waiting up to opts.Wait for a live holder to let it go.
// A lock that expired or whose owner died on this machine is taken over. It fails with a
// *LockedError (wrapping ErrLocked) naming the holder.
func Acquire(ctx context.Context, s Store, name string, opts LockOptions) (*Lock, error) {
	if opts.TTL <= 0 {
		opts.TTL = DefaultLockTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	deadline := opts.Now().Add(opts.Wait)
	pause := 50 * time.Millisecond
	for {
		top, owner, err := readTop(ctx, s, name)
		if err != nil {
			return nil, err
		}
		now := opts.Now()
		if top == 0 || owner.Released || !now.Before(owner.Expires) || proc.Dead(owner.ID) {
			l, err := tryCreate(ctx, s, name, top+1, opts)
			if err == nil {
				l.clearBelow(ctx)
				l.start()
				return l, nil
			}
			if !errors.Is(err, ErrExist) {
				return nil, err
			}
			continue // another run took generation top+1 first: look again
		}
		if !now.Before(deadline) {
			return nil, &LockedError{Location: s.Location(lockDir(name)), Owner: owner}
		}
		wait := min(pause+rand.N(pause), deadline.Sub(now))
		pause = min(2*pause, time.Second)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// readTop returns the highest generation of the lock and its content; 0 when there is none.
func readTop(ctx context.Context, s Store, name string) (uint64, LockOwner, error) {
	for {
		top, err := topGeneration(ctx, s, name)
		if err != nil || top == 0 {
			return top, LockOwner{}, err
		}
		data, err := ReadFile(ctx, s, genName(name, top), 64<<10)
		if errors.Is(err, ErrNotExist) {
			continue // released and taken over meanwhile: look again
		}
		if err != nil {
			return 0, LockOwner{}, fmt.Errorf("reading lock: %w", err)
		}
		var owner LockOwner
		if err := json.Unmarshal(data, &owner); err != nil {
			return 0, LockOwner{}, fmt.Errorf("lock %s is damaged (%v); if no run is using it, delete %s",
				s.Location(genName(name, top)), err, s.Location(lockDir(name)))
		}
		return top, owner, nil
	}
}

func topGeneration(ctx context.Context, s Store, name string) (uint64, error) {
	var top uint64
	err := s.List(ctx, lockDir(name), func(info Info) error {
		if g := parseGen(name, info.Name); g > top {
			top = g
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading lock %s: %w", s.Location(lockDir(name)), err)
	}
	return top, nil
}

// parseGen returns the generation of a lock object's name, 0 for any other name.
func parseGen(name, obj string) uint64 {
	base, ok := strings.CutPrefix(obj, lockDir(name)+"/")
	if !ok {
		return 0
	}
	digits, ok := strings.CutSuffix(base, ".json")
	if !ok || strings.Contains(digits, "/") {
		return 0
	}
	g, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0
	}
	return g
}

func tryCreate(ctx context.Context, s Store, name string, gen uint64, opts LockOptions) (*Lock, error) {
	now := opts.Now()
	l := &Lock{s: s, name: name, obj: genName(name, gen), gen: gen, ttl: opts.TTL, now: opts.Now,
		owner: LockOwner{ID: proc.Self(), Purpose: opts.Purpose, Acquired: now.UTC(), Expires: now.Add(opts.TTL).UTC()},
		stop:  make(chan struct{}), stopped: make(chan struct{}), lost: make(chan struct{})}
	if err := l.write(ctx, l.owner, CreateOptions{IfAbsent: true}); err != nil {
		return nil, err
	}
	l.renewedTil = l.owner.Expires
	// A lock folder cleared by hand while its holder runs restarts at generation 1; the holder's
	// next renewal brings its higher generation back. Check once now rather than at that renewal.
	if top, err := topGeneration(ctx, s, name); err == nil && top > gen {
		_ = s.Delete(ctx, l.obj)
		return nil, fmt.Errorf("lock %s: %w", s.Location(lockDir(name)), ErrExist)
	}
	return l, nil
}

func (l *Lock) write(ctx context.Context, owner LockOwner, opts CreateOptions) error {
	data, err := json.MarshalIndent(owner, "", "  ")
	if err != nil {
		return err
	}
	return WriteFile(ctx, l.s, l.obj, append(data, '\n'), opts)
}

// clearBelow removes the older generations, best effort (a leftover one changes nothing).
func (l *Lock) clearBelow(ctx context.Context) {
	_ = l.s.List(ctx, lockDir(l.name), func(info Info) error {
		if g := parseGen(l.name, info.Name); g > 0 && g < l.gen {
			_ = l.s.Delete(ctx, info.Name)
		}
		return nil
	})
}

// start runs the renewals until Release.
func (l *Lock) start() {
	go func() {
		defer close(l.stopped)
		tick := time.NewTicker(l.ttl / 4)
		defer tick.Stop()
		for {
			l.mu.Lock()
			left := l.renewedTil.Sub(l.now()) - l.ttl/8 // a margin for clocks that differ a little
			l.mu.Unlock()
			if left <= 0 {
				l.fail(fmt.Errorf("%w %s: it could not be renewed before it expired", ErrLockLost, l.s.Location(lockDir(l.name))))
				return
			}
			select {
			case <-l.stop:
				return
			case <-time.After(left):
				continue // re-check: a renewal may have moved the expiry meanwhile
			case <-tick.C:
				if err := l.renew(); err != nil {
					l.fail(err)
					return
				}
			}
		}
	}()
}

// renew extends the lock, unless another run has taken it over. A failed write is retried at the
// next tick while the lock has not expired.
func (l *Lock) renew() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl/4)
	defer cancel()
	top, err := topGeneration(ctx, l.s, l.name)
	if err != nil {
		return nil
	}
	if top > l.gen {
		return fmt.Errorf("%w %s: another run took it over", ErrLockLost, l.s.Location(lockDir(l.name)))
	}
	owner := l.Owner()
	owner.Expires = l.now().Add(l.ttl).UTC()
	if err := l.write(ctx, owner, CreateOptions{}); err == nil {
		l.mu.Lock()
		l.owner, l.renewedTil = owner, owner.Expires
		l.mu.Unlock()
	}
	return nil
}

func (l *Lock) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		close(l.lost)
	}
}

// Lost is closed when the lock is lost; Err then says why.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err returns nil while the lock is held, and why it was lost afterwards (wrapping ErrLockLost).
// Check it right before publishing what the lock guards.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Owner returns what the lock object says about its holder.
func (l *Lock) Owner() LockOwner {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owner
}

// Release stops the renewals and marks the lock released, so the next run takes it at once. The
// object stays (its generation must not be reused). A lost lock is left alone.
func (l *Lock) Release(ctx context.Context) error {
	select {
	case <-l.stop:
		return nil // released already
	default:
	}
	close(l.stop)
	<-l.stopped
	if l.Err() != nil {
		return nil
	}
	owner := l.Owner()
	owner.Released, owner.Expires = true, l.now().UTC()
	if err := l.write(ctx, owner, CreateOptions{}); err != nil {
		return fmt.Errorf("releasing lock %s: %w", l.s.Location(lockDir(l.name)), err)
	}
	return nil
}
