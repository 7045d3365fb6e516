package etl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
)

// The run locks (store.Acquire; issue 10 items 1-3, 7, 8), taken in this order so two runs never
// wait on each other in a circle:
//
//   - table-<name> on OUTPUT, for every table a task writes, for the whole run: runs split by
//     --task write side by side, two runs of one task never both write its table.
//   - output on OUTPUT, briefly: the codebook check and the new job's folder, so two runs with
//     different PHI folders cannot both pass the check; then again for the etl__completion update,
//     so no run's completion rows are lost.
//   - phi on PHI, briefly: upgrading the codebook and updating context.json.
//
// A table lock waits Config.LockWait for another run; the brief locks wait at least
// briefLockWait. A lock lost during the run (not renewed in time, taken over) stops the run before
// it publishes anything more.
const (
	outputLock    = "output"
	phiLock       = "phi"
	briefLockWait = 10 * time.Minute
)

// Errors the CLI maps to exit codes.
var (
	// ErrForeignFiles: a table folder holds files the ETL did not write, which replacing it would delete.
	ErrForeignFiles = errors.New("a table folder holds files that cumulus-etl did not write")
)

func tableLock(table string) string { return "table-" + table }

// runLocks holds a run's locks and stops the run (through its context) when one is lost.
type runLocks struct {
	cancel context.CancelCauseFunc
	wait   time.Duration
	mu     sync.Mutex
	held   map[*store.Lock]chan struct{} // closed on release, to end the lock's watcher
}

// newRunLocks returns the run's context, cancelled with the lock's error when a lock is lost.
func newRunLocks(ctx context.Context, wait time.Duration) (context.Context, *runLocks) {
	ctx, cancel := context.WithCancelCause(ctx)
	return ctx, &runLocks{cancel: cancel, wait: wait, held: map[*store.Lock]chan struct{}{}}
}

// take acquires the lock name of s, waiting up to wait.
func (r *runLocks) take(ctx context.Context, s store.Store, name, purpose string, wait time.Duration) (*store.Lock, error) {
	l, err := store.Acquire(ctx, s, name, store.LockOptions{Wait: wait, Purpose: purpose})
	if err != nil {
		return nil, err
	}
	released := make(chan struct{})
	r.mu.Lock()
	r.held[l] = released
	r.mu.Unlock()
	go func() {
		select {
		case <-l.Lost():
			r.cancel(l.Err())
		case <-released:
		}
	}()
	return l, nil
}

// release lets one lock go.
func (r *runLocks) release(l *store.Lock) error {
	r.mu.Lock()
	released, ok := r.held[l]
	delete(r.held, l)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	close(released)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return l.Release(ctx)
}

// releaseAll lets every lock go (at the end of the run, also after a failure).
func (r *runLocks) releaseAll() {
	r.mu.Lock()
	all := make([]*store.Lock, 0, len(r.held))
	for l := range r.held {
		all = append(all, l)
	}
	r.mu.Unlock()
	for _, l := range all {
		_ = r.release(l) // a lock not released in time clears when its owner (this process) is gone
	}
	r.cancel(nil)
}

// check returns why the run may not publish: a lost lock.
func (r *runLocks) check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for l := range r.held {
		if err := l.Err(); err != nil {
			return err
		}
	}
	return nil
}

// brief runs fn under the lock name of s, taken for fn alone.
func (r *runLocks) brief(ctx context.Context, s store.Store, name, purpose string, fn func() error) error {
	l, err := r.take(ctx, s, name, purpose, max(r.wait, briefLockWait))
	if err != nil {
		return err
	}
	err = fn()
	if relErr := r.release(l); err == nil {
		err = relErr
	}
	return err
}

// takeTables locks the tables the tasks write, in name order, for the whole run.
func (r *runLocks) takeTables(ctx context.Context, out store.Store, tasks []Task) error {
	names := make([]string, 0, len(tasks))
	for _, t := range tasks {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := r.take(ctx, out, tableLock(name), "etl: writing table "+name, r.wait); err != nil {
			return fmt.Errorf("table %s: %w", name, err)
		}
	}
	return nil
}

// checkForeignFiles refuses to start when a table to be replaced holds files we did not write
// (issue 10 item 7): replacing the folder would delete them without a word.
func checkForeignFiles(ctx context.Context, format tables.Format, names []string) error {
	var found []string
	for _, name := range names {
		files, err := format.ForeignFiles(ctx, name)
		if err != nil {
			return err
		}
		found = append(found, files...)
	}
	if len(found) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s\nNothing was written. Move those files out of OUTPUT (replacing a table replaces its "+
		"whole folder), then run again", ErrForeignFiles, strings.Join(found, ", "))
}
