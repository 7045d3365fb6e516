package hydrate

import (
	"context"
	"sync"
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
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
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
