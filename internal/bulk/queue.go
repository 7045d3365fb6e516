package bulk

import "sync"

// jobQueue is an unbounded FIFO of files to download, so manifest pages can keep arriving
// (partial manifests) while every worker is busy.
type jobQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []fileJob
	closed bool
}

func newJobQueue() *jobQueue {
	q := &jobQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *jobQueue) push(j fileJob) {
	q.mu.Lock()
	q.items = append(q.items, j)
	q.mu.Unlock()
	q.cond.Signal()
}

// close lets pop return false once the queue is empty.
func (q *jobQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// pop waits for the next job; ok is false when the queue is closed and empty.
func (q *jobQueue) pop() (j fileJob, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return fileJob{}, false
	}
	j = q.items[0]
	q.items = q.items[1:]
	return j, true
}
