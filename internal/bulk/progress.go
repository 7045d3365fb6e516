package bulk

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// reporter shows what the export is doing: plain lines, live bars, or (quiet) warnings only.
type reporter interface {
	info(msg string)
	warn(msg string)
	waiting(progress string, waited, next time.Duration)
	filesKnown(n int)
	fileDone(name string, size int64)
	bytes(n int64)
	close()
}

func newReporter(o Options, w io.Writer) reporter {
	if o.TTY && !o.Quiet {
		return newBarReporter(w)
	}
	return &lineReporter{w: w, quiet: o.Quiet}
}

// lineReporter prints one plain line per event (for logs and pipes).
type lineReporter struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	total atomic.Int64
}

func (r *lineReporter) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", args...)
}

func (r *lineReporter) info(msg string) {
	if !r.quiet {
		r.printf("%s", msg)
	}
}

func (r *lineReporter) warn(msg string) { r.printf("Warning: %s", msg) }

func (r *lineReporter) waiting(progress string, waited, next time.Duration) {
	if progress == "" {
		progress = "waiting…"
	}
	r.info(fmt.Sprintf("  %s (%s so far, waiting for %s more)", progress, humanDuration(waited), humanDuration(next)))
}

func (r *lineReporter) filesKnown(int) {}

func (r *lineReporter) fileDone(name string, size int64) {
	r.info(fmt.Sprintf("  Downloaded %s (%s)", name, humanSize(size)))
}

func (r *lineReporter) bytes(n int64) { r.total.Add(n) }
func (r *lineReporter) close()        {}

// humanDuration formats like Cumulus ETL: 49s, 1.5m, 5h.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return trimZero(fmt.Sprintf("%.1f", d.Minutes())) + "m"
	}
	return trimZero(fmt.Sprintf("%.1f", d.Hours())) + "h"
}

// humanSize formats bytes in base-1024 units with one trimmed decimal.
func humanSize(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return trimZero(fmt.Sprintf("%.1f", f)) + units[i]
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
