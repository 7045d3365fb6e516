package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// lines prints plain lines: every Info, Warn and Detail at once, the status and each tracker's
// progress at most once per interval, and a tracker's final line when it is done. Quiet prints
// warnings only. Lines are printed as events arrive (no timer), so a stalled task prints nothing.
type lines struct {
	w        io.Writer
	now      func() time.Time
	interval time.Duration
	quiet    bool

	mu         sync.Mutex
	lastStatus time.Time
	trackers   []*lineTracker
}

func (l *lines) println(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, msg)
}

func (l *lines) Info(msg string) {
	if !l.quiet {
		l.println(msg)
	}
}

func (l *lines) Warn(msg string) { l.println("Warning: " + msg) }

func (l *lines) Detail(msg string) { l.Info(msg) }

func (l *lines) Status(msg string) {
	if l.quiet || msg == "" {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lastStatus.IsZero() && now.Sub(l.lastStatus) < l.interval {
		return
	}
	l.lastStatus = now
	fmt.Fprintln(l.w, "  "+msg)
}

func (l *lines) Track(name string, t Totals) Tracker {
	now := l.now()
	tr := &lineTracker{l: l, c: newCounter(name, t, now), last: now}
	l.mu.Lock()
	l.trackers = append(l.trackers, tr)
	l.mu.Unlock()
	return tr
}

// Close prints the final line of every tracker not yet done.
func (l *lines) Close() {
	l.mu.Lock()
	trackers := l.trackers
	l.mu.Unlock()
	for _, t := range trackers {
		t.Done()
	}
}

type lineTracker struct {
	l *lines
	c *counter

	mu   sync.Mutex
	last time.Time
}

func (t *lineTracker) Add(items, bytes int64) {
	t.c.add(items, bytes, false)
	t.maybePrint()
}

func (t *lineTracker) Skip(items, bytes int64) {
	t.c.add(items, bytes, true)
	t.maybePrint()
}

func (t *lineTracker) SetTotal(items, bytes int64) { t.c.setTotal(items, bytes) }

// maybePrint prints the progress line when an interval has passed since the last one.
func (t *lineTracker) maybePrint() {
	if t.l.quiet {
		return
	}
	now := t.l.now()
	t.mu.Lock()
	due := now.Sub(t.last) >= t.l.interval
	if due {
		t.last = now
	}
	t.mu.Unlock()
	if due {
		t.l.println("  " + t.c.text(now))
	}
}

func (t *lineTracker) Done() {
	if t.c.finish(t.l.now()) && !t.l.quiet {
		t.l.println("  " + t.c.text(t.l.now()))
	}
}
