package crawl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"cumulus-etl/internal/progress"
)

// failedListName is the list of patients whose searches failed, in the export folder.
const failedListName = "failed-patients.tsv"

// giveUpAfter: when this many patients in a row failed and none succeeded, the server is not
// answering anyone and the crawl stops instead of failing every patient of the cohort.
const giveUpAfter = 50

// crawlPatients crawls every patient of the cohort the journal does not record as done, in
// parallel. It returns the list of patients that failed; its error is for a crawl that cannot
// go on (no credentials, the folder unusable, every patient failing, ctx ended).
func (r *run) crawlPatients(ctx context.Context, cohort, previous *sortedFile, st *progressState) (*failureLog, error) {
	failed, err := openFailures(filepath.Join(r.opts.Dir, failedListName))
	if err != nil {
		return nil, err
	}
	tracker := r.progress.Track("crawl", progress.Totals{Unit: "patients", Items: int64(cohort.n)})
	defer tracker.Done()
	tracker.Skip(int64(st.doneCount), 0)
	status := newStatusLine(r, time.Now())
	r.commits = startCommitter(r.opts.Dir, r.journal, func(int) {})
	var mu sync.Mutex
	var ok, failedInARow atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan patient, r.workers())
	for range r.workers() {
		w := &worker{r: r, slot: newSlot(r.opts.Dir, r.names)}
		g.Go(func() error {
			defer w.slot.close()
			for p := range work {
				err := w.crawl(gctx, p)
				var perr *patientError
				switch {
				case err == nil:
					ok.Add(1)
					failedInARow.Store(0)
					tracker.Add(1, w.added)
				case gctx.Err() != nil:
					return gctx.Err()
				case !errors.As(err, &perr) || permanent(err):
					return err
				default:
					mu.Lock()
					err = failed.add("patient", p.id, perr.typ+": "+reason(err), err)
					mu.Unlock()
					if err != nil {
						return err
					}
					if failedInARow.Add(1) >= giveUpAfter && ok.Load() == 0 {
						return fmt.Errorf("%w: the first %d patients all failed (%s); the last: %w", ErrCrawlFailed, giveUpAfter, failed.summary(), perr)
					}
				}
				status.update()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		return r.dispatch(gctx, cohort, previous, st, work)
	})
	err = g.Wait()
	err = errors.Join(err, r.commits.close(), failed.close())
	if err != nil {
		return nil, err
	}
	status.update()
	if n := failed.count(); n > 0 {
		r.progress.Warn(fmt.Sprintf("%d patients could not be crawled (%s); they are listed in %s", n, failed.summary(), failed.path))
	}
	return failed, nil
}

// dispatch sends the patients not yet done, in cohort order, marking those absent from the
// previous export's cohort as new (both files are sorted, so one pass over each does it).
func (r *run) dispatch(ctx context.Context, cohort, previous *sortedFile, st *progressState, work chan<- patient) error {
	var prev *lineCursor
	if previous != nil {
		prev = newLineCursor(previous)
	}
	return cohort.each(func(i int, id []byte) error {
		if st.done.get(i) {
			return nil
		}
		p := patient{index: i, id: string(id)}
		if prev != nil {
			found, err := prev.seek(id)
			if err != nil {
				return err
			}
			p.new = !found
		}
		select {
		case work <- p:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// lineCursor walks a sorted file forward, answering "is this line in it?" for keys given in order.
type lineCursor struct {
	r    *bufio.Reader
	path string
	cur  []byte
	done bool
	err  error
}

func newLineCursor(sf *sortedFile) *lineCursor {
	c := &lineCursor{r: bufio.NewReaderSize(io.NewSectionReader(sf.f, 0, sf.size), 64<<10), path: sf.path}
	c.advance()
	return c
}

func (c *lineCursor) advance() {
	line, err := c.r.ReadBytes('\n')
	if len(line) == 0 {
		c.done = true
		if !errors.Is(err, io.EOF) {
			c.err = fmt.Errorf("reading %s: %w", c.path, err)
		}
		return
	}
	c.cur = bytes.TrimSuffix(line, []byte("\n"))
}

// seek reports whether key is in the file; keys must come in increasing order.
func (c *lineCursor) seek(key []byte) (bool, error) {
	for !c.done && bytes.Compare(c.cur, key) < 0 {
		c.advance()
	}
	return !c.done && bytes.Equal(c.cur, key), c.err
}

// statusLine shows resources and requests, with their rates, and the adaptive limit.
type statusLine struct {
	r     *run
	start time.Time
	mu    sync.Mutex
	last  time.Time
}

func newStatusLine(r *run, start time.Time) *statusLine { return &statusLine{r: r, start: start} }

func (s *statusLine) update() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.last) < 200*time.Millisecond {
		return
	}
	s.last = now
	secs := max(now.Sub(s.start).Seconds(), 0.001)
	res, req := s.r.resources.Load(), s.r.requests.Load()
	s.r.progress.Status(fmt.Sprintf("%d resources (%.0f/s), %d requests (%.0f/s), %d at once",
		res, float64(res)/secs, req, float64(req)/secs, s.r.limit.Current()))
}
