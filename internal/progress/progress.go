// Package progress is the one place that shows how long-running work is going: live bars on a
// terminal, plain periodic lines otherwise (cron, CI, pipes), or warnings only. The work itself
// (bulk exports, ETL tasks, note downloads) reports events through the small Reporter interface
// and knows nothing of terminals.
package progress

import (
	"io"
	"time"
)

// Reporter receives progress events. Implementations are safe for concurrent use, and every
// method is cheap enough to call per chunk of data.
type Reporter interface {
	// Info prints a lasting message (not in quiet mode).
	Info(msg string)
	// Warn prints a lasting warning, also in quiet mode.
	Warn(msg string)
	// Detail prints a lasting message in plain-line mode only: a bar shows the same thing (one
	// line per file downloaded, say).
	Detail(msg string)
	// Status shows what the work is waiting for ("50% complete, next check in 5m"); it replaces
	// the previous status. Plain-line mode prints it at most once per interval.
	Status(msg string)
	// Track starts tracking one unit of work (a task, the downloads of an export).
	Track(name string, t Totals) Tracker
}

// Totals describes the size of a unit of work. A zero field means unknown.
type Totals struct {
	Unit  string // what Items counts: "files", "rows", "notes"
	Items int64
	Bytes int64
}

// Tracker follows one unit of work. Its methods are safe for concurrent use.
type Tracker interface {
	// Add counts work done now: items finished and bytes processed.
	Add(items, bytes int64)
	// Skip counts work found already done (files kept from an earlier run). It counts toward
	// the totals but not toward the rate.
	Skip(items, bytes int64)
	// SetTotal replaces the expected totals (more manifest pages arrived); zero leaves one as it is.
	SetTotal(items, bytes int64)
	// Done marks the work finished; later calls are ignored.
	Done()
}

// Display is a Reporter that owns an output and must be closed when the work ends.
type Display interface {
	Reporter
	// Close finishes every tracker and stops drawing.
	Close()
}

// Mode selects how a Display shows progress.
type Mode int

// The display modes.
const (
	Lines Mode = iota // one line per event and a progress line per tracker at most once per Interval
	Bars              // live bars (for a terminal)
	Quiet             // warnings only
)

// Options configures New.
type Options struct {
	Out      io.Writer
	Mode     Mode
	Interval time.Duration    // Lines: least time between two progress lines of one tracker; default DefaultInterval
	Now      func() time.Time // clock for rates and intervals; nil: time.Now
}

// DefaultInterval is how often plain-line mode prints a tracker's progress and the status.
const DefaultInterval = 30 * time.Second

// New returns a Display writing to o.Out in o.Mode.
func New(o Options) Display {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	switch o.Mode {
	case Bars:
		return newBars(o)
	case Quiet:
		return &lines{w: o.Out, now: o.Now, interval: o.Interval, quiet: true}
	}
	return &lines{w: o.Out, now: o.Now, interval: o.Interval}
}

// Nop is a Reporter that shows nothing.
var Nop Reporter = nop{}

type nop struct{}

func (nop) Info(string)                  {}
func (nop) Warn(string)                  {}
func (nop) Detail(string)                {}
func (nop) Status(string)                {}
func (nop) Track(string, Totals) Tracker { return nopTracker{} }

type nopTracker struct{}

func (nopTracker) Add(int64, int64)      {}
func (nopTracker) Skip(int64, int64)     {}
func (nopTracker) SetTotal(int64, int64) {}
func (nopTracker) Done()                 {}

// Or returns r, or Nop when r is nil.
func Or(r Reporter) Reporter {
	if r == nil {
		return Nop
	}
	return r
}
