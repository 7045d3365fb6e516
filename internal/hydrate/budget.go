package hydrate

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// byteBudget bounds the bytes held between two stages. A request larger than the whole budget
// waits until nothing else is held, then takes all of it.
type byteBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	size int
	used int
}

func newByteBudget(size int) *byteBudget {
	b := &byteBudget{size: size}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *byteBudget) acquire(ctx context.Context, n int) error {
	n = min(n, b.size)
	defer wakeWhenDone(ctx, b.cond)()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used > 0 && b.used+n > b.size {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.cond.Wait()
	}
	b.used += n
	return nil
}

func (b *byteBudget) release(n int) {
	b.mu.Lock()
	b.used -= min(n, b.size)
	b.cond.Broadcast()
	b.mu.Unlock()
}

// wakeWhenDone wakes every waiter on cond when ctx ends, so they can see ctx.Err; call the
// returned function when done waiting.
func wakeWhenDone(ctx context.Context, cond *sync.Cond) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		cond.L.Lock()
		cond.Broadcast()
		cond.L.Unlock()
	})
}

// startWorkers runs n goroutines in g that call fn for every value received from ch, each
// stopping at its first error.
func startWorkers[T any](g *errgroup.Group, n int, ch <-chan T, fn func(T) error) {
	for range n {
		g.Go(func() error {
			for v := range ch {
				if err := fn(v); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
