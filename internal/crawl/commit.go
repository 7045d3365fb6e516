package crawl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// commitInterval is how often finished patients are made durable: a kill -9 loses at most
// this much finished work (those patients are searched again).
const commitInterval = time.Second

// commitBatch is the most patients one journal record holds.
const commitBatch = 1000

// commitReq says a worker finished a patient: its lines are in the files, up to these sizes.
type commitReq struct {
	patient    int
	sizes      map[string]int64
	maxUpdated string
	resources  int64
}

// committer makes finished patients durable in batches: it syncs every file they wrote (and the
// folder of a new file), then appends one journal record naming them, so many patients share
// one round of syncs.
type committer struct {
	dir    string
	j      *journal
	in     chan commitReq
	done   chan struct{}
	onDone func(patients int) // after each durable batch

	mu     sync.Mutex
	err    error
	synced map[string]bool // files whose folder entry is durable
}

func startCommitter(dir string, j *journal, onDone func(int)) *committer {
	c := &committer{dir: dir, j: j, in: make(chan commitReq, commitBatch), done: make(chan struct{}),
		onDone: onDone, synced: map[string]bool{}}
	go c.run()
	return c
}

// commit queues a finished patient; it fails once an earlier batch could not be made durable.
func (c *committer) commit(req commitReq) error {
	if err := c.failed(); err != nil {
		return err
	}
	c.in <- req
	return nil
}

// close makes every queued patient durable and stops.
func (c *committer) close() error {
	close(c.in)
	<-c.done
	return c.failed()
}

func (c *committer) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *committer) run() {
	defer close(c.done)
	tick := time.NewTicker(commitInterval)
	defer tick.Stop()
	var batch []commitReq
	flush := func() {
		if len(batch) > 0 && c.failed() == nil {
			if err := c.flush(batch); err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			}
		}
		batch = batch[:0]
	}
	for {
		select {
		case req, ok := <-c.in:
			if !ok {
				flush()
				return
			}
			if batch = append(batch, req); len(batch) >= commitBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// flush syncs the files of batch and records it.
func (c *committer) flush(batch []commitReq) error {
	rec := journalRecord{Files: map[string]int64{}}
	for _, req := range batch {
		rec.Done = append(rec.Done, req.patient)
		rec.Resources += req.resources
		for name, size := range req.sizes {
			rec.Files[name] = max(rec.Files[name], size)
		}
		if req.maxUpdated > rec.MaxUpdated {
			rec.MaxUpdated = req.maxUpdated
		}
	}
	if err := c.sync(rec.Files); err != nil {
		return err
	}
	if err := c.j.append(rec); err != nil {
		return err
	}
	c.onDone(len(batch))
	return nil
}

// sync makes the named files (relative to dir) durable, and the folder entries of new ones.
func (c *committer) sync(files map[string]int64) error {
	for name := range files {
		path := filepath.Join(c.dir, name)
		if err := syncPath(path); err != nil {
			return err
		}
		if !c.synced[name] {
			if err := syncPath(filepath.Dir(path)); err != nil {
				return err
			}
			c.synced[name] = true
		}
	}
	return nil
}

// syncPath fsyncs a file or folder through a handle of its own (fsync reaches the file's data
// whichever handle wrote it).
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return errors.Join(wrapSync(path, f.Sync()), f.Close())
}

func wrapSync(path string, err error) error {
	if err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return nil
}
