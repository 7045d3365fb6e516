package progress

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// barScale is the bar's total: bars show the fraction done in thousandths.
const barScale = 1000

// bars draws one live bar per tracker with mpb, the status text on a line of its own, and prints
// lasting messages above the bars.
type bars struct {
	p   *mpb.Progress
	now func() time.Time

	mu       sync.Mutex
	status   *mpb.Bar
	text     atomic.Value // string: the status
	trackers []*barTracker
}

func newBars(o Options) *bars {
	b := &bars{p: mpb.New(mpb.WithOutput(o.Out), mpb.WithWidth(30), mpb.WithAutoRefresh()), now: o.Now}
	b.text.Store("")
	return b
}

// Info prints a lasting message above the bars.
func (b *bars) Info(msg string) { fmt.Fprintln(b.p, msg) }

func (b *bars) Warn(msg string) { fmt.Fprintln(b.p, "Warning: "+msg) }

// Detail is not printed: the bars show it.
func (b *bars) Detail(string) {}

func (b *bars) Status(msg string) {
	b.text.Store(msg)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == nil && msg != "" {
		b.status = b.p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			return b.text.Load().(string)
		})))
	}
}

func (b *bars) Track(name string, t Totals) Tracker {
	c := newCounter(name, t, b.now())
	tr := &barTracker{b: b, c: c}
	tr.bar = b.p.New(barScale, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return c.text(b.now()) }, decor.WC{W: 1, C: decor.DindentRight})),
		mpb.BarFillerOnComplete(""), mpb.BarWidth(20), mpb.BarPriority(len(b.trackers)))
	b.mu.Lock()
	b.trackers = append(b.trackers, tr)
	b.mu.Unlock()
	return tr
}

// Close completes every bar and waits for the last frame.
func (b *bars) Close() {
	b.mu.Lock()
	trackers, status := b.trackers, b.status
	b.mu.Unlock()
	for _, t := range trackers {
		t.Done()
	}
	if status != nil {
		status.SetTotal(-1, true)
	}
	b.p.Wait()
}

type barTracker struct {
	b   *bars
	c   *counter
	bar *mpb.Bar
}

func (t *barTracker) Add(items, bytes int64) {
	t.c.add(items, bytes, false)
	t.update()
}

func (t *barTracker) Skip(items, bytes int64) {
	t.c.add(items, bytes, true)
	t.update()
}

func (t *barTracker) SetTotal(items, bytes int64) {
	t.c.setTotal(items, bytes)
	t.update()
}

// update moves the bar to the fraction done, short of complete until Done.
func (t *barTracker) update() {
	if f, ok := t.c.fraction(); ok {
		t.bar.SetCurrent(min(barScale-1, int64(f*barScale)))
	}
}

func (t *barTracker) Done() {
	if t.c.finish(t.b.now()) {
		t.bar.SetTotal(-1, true)
	}
}
