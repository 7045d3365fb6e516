package progress

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// counter is the state of one tracker, shared by both renderers so bars and lines say the same.
type counter struct {
	name  string
	unit  string
	start time.Time // when tracking began: elapsed and the rate count from here

	mu                     sync.Mutex
	items, bytes           int64 // done now
	keptItems, keptBytes   int64 // found done
	totalItems, totalBytes int64
	done                   bool
	end                    time.Time
}

func newCounter(name string, t Totals, now time.Time) *counter {
	return &counter{name: name, unit: t.Unit, start: now, totalItems: t.Items, totalBytes: t.Bytes}
}

func (c *counter) add(items, bytes int64, kept bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept {
		c.keptItems += items
		c.keptBytes += bytes
	} else {
		c.items += items
		c.bytes += bytes
	}
}

func (c *counter) setTotal(items, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if items > 0 {
		c.totalItems = items
	}
	if bytes > 0 {
		c.totalBytes = bytes
	}
}

// finish marks the counter done and reports whether it was not done before.
func (c *counter) finish(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return false
	}
	c.done, c.end = true, now
	return true
}

// fraction is how much of the work is done, from bytes when their total is known, else from
// items; ok is false when neither total is known.
func (c *counter) fraction() (f float64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.totalBytes > 0:
		return min(1, float64(c.bytes+c.keptBytes)/float64(c.totalBytes)), true
	case c.totalItems > 0:
		return min(1, float64(c.items+c.keptItems)/float64(c.totalItems)), true
	}
	return 0, false
}

// text describes the counter: "observation: 1,234 rows, 81MB of 210MB (38%), 45MB/s, 18s elapsed,
// about 28s left", or for an export "download: 12 of 170 files (3 kept), 412MB, 85MB/s, 5s elapsed".
func (c *counter) text(now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		now = c.end
	}
	elapsed := now.Sub(c.start)
	var parts []string
	items := c.items + c.keptItems
	if c.unit != "" {
		s := thousands(items) + " " + c.unit
		if c.totalItems > 0 {
			s = thousands(items) + " of " + thousands(c.totalItems) + " " + c.unit
		}
		if c.keptItems > 0 {
			s += " (" + thousands(c.keptItems) + " kept)"
		}
		parts = append(parts, s)
	}
	if bytes := c.bytes + c.keptBytes; bytes > 0 || c.totalBytes > 0 {
		s := HumanSize(bytes)
		if c.totalBytes > 0 {
			s += fmt.Sprintf(" of %s (%d%%)", HumanSize(c.totalBytes), min(100, bytes*100/c.totalBytes))
		}
		parts = append(parts, s)
	}
	if secs := elapsed.Seconds(); secs > 0 && c.bytes > 0 {
		parts = append(parts, HumanSize(int64(float64(c.bytes)/secs))+"/s")
	}
	parts = append(parts, HumanDuration(elapsed)+" elapsed")
	if left, ok := c.remaining(elapsed); ok && !c.done {
		parts = append(parts, "about "+HumanDuration(left)+" left")
	}
	return c.name + ": " + strings.Join(parts, ", ")
}

// remaining estimates the time left from the rate so far (kept work excluded from the rate).
func (c *counter) remaining(elapsed time.Duration) (time.Duration, bool) {
	var done, left int64
	switch {
	case c.totalBytes > 0:
		done, left = c.bytes, c.totalBytes-c.bytes-c.keptBytes
	case c.totalItems > 0:
		done, left = c.items, c.totalItems-c.items-c.keptItems
	default:
		return 0, false
	}
	if done <= 0 || left < 0 {
		return 0, false
	}
	return time.Duration(float64(elapsed) * float64(left) / float64(done)), true
}

// HumanDuration formats like Cumulus ETL: 49s, 1.5m, 5h.
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return trimZero(fmt.Sprintf("%.1f", d.Minutes())) + "m"
	}
	return trimZero(fmt.Sprintf("%.1f", d.Hours())) + "h"
}

// HumanSize formats bytes in base-1024 units with one trimmed decimal, like Cumulus ETL: 3.5MB.
func HumanSize(n int64) string {
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

// thousands formats n with comma separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
