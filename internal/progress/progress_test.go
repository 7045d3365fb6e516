package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestLinesArePeriodicForCronAndPipes (issue 10 item 17): without a terminal, progress is plain
// lines: messages at once, a tracker's progress (rows, MB/s, elapsed, time left) at most once per
// interval, its final line when done, and the status at most once per interval.
func TestLinesArePeriodicForCronAndPipes(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	d := New(Options{Out: &out, Mode: Lines, Interval: 10 * time.Second, Now: clock.Now})
	d.Info("starting")
	d.Status("waiting (1)")
	d.Status("waiting (2)") // within the interval: not printed
	tr := d.Track("observation", Totals{Unit: "rows", Bytes: 100 << 20})
	clock.advance(5 * time.Second)
	tr.Add(1000, 10<<20) // before the interval: no line
	clock.advance(5 * time.Second)
	tr.Add(1000, 10<<20)
	d.Detail("  Downloaded x")
	d.Warn("careful")
	clock.advance(2 * time.Second)
	tr.Done()
	tr.Add(1, 1) // after Done: no line
	d.Close()
	want := []string{
		"starting",
		"  waiting (1)",
		"  observation: 2,000 rows, 20MB of 100MB (20%), 2MB/s, 10s elapsed, about 40s left",
		"  Downloaded x",
		"Warning: careful",
		"  observation: 2,000 rows, 20MB of 100MB (20%), 1.7MB/s, 12s elapsed",
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKeptWorkIsShownApartAndLeftOutOfTheRate (issue 13 item 6): files kept from an earlier run
// are counted as kept, not as downloaded, and do not inflate the rate.
func TestKeptWorkIsShownApartAndLeftOutOfTheRate(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	d := New(Options{Out: &out, Mode: Lines, Now: clock.Now})
	tr := d.Track("download", Totals{Unit: "files"})
	tr.SetTotal(10, 0)
	tr.Skip(8, 800<<20)
	clock.advance(4 * time.Second)
	tr.Add(1, 4<<20)
	tr.Done()
	d.Close()
	if want := "  download: 9 of 10 files (8 kept), 804MB, 1MB/s, 4s elapsed\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestQuietPrintsWarningsOnly(t *testing.T) {
	var out bytes.Buffer
	d := New(Options{Out: &out, Mode: Quiet})
	d.Info("a")
	d.Detail("b")
	d.Status("c")
	tr := d.Track("t", Totals{Unit: "rows"})
	tr.Add(1, 1)
	tr.Done()
	d.Warn("w")
	d.Close()
	if out.String() != "Warning: w\n" {
		t.Errorf("got %q", out.String())
	}
}

// TestBarsKeepLastingMessages: on a terminal the bars are drawn, lasting messages are printed
// above them, and Close returns once every bar is complete.
func TestBarsKeepLastingMessages(t *testing.T) {
	var out bytes.Buffer
	d := New(Options{Out: &out, Mode: Bars})
	d.Status("waiting")
	tr := d.Track("download", Totals{Unit: "files", Items: 2})
	tr.Add(1, 10)
	d.Info("hello")
	d.Detail("not shown with bars")
	d.Close()
	if !strings.Contains(out.String(), "hello") || strings.Contains(out.String(), "not shown") {
		t.Errorf("output %q", out.String())
	}
}

func TestHumanFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{HumanSize(3 << 20), "3MB"}, {HumanSize(1536), "1.5KB"}, {HumanSize(12), "12B"},
		{HumanDuration(49 * time.Second), "49s"}, {HumanDuration(90 * time.Second), "1.5m"}, {HumanDuration(5 * time.Hour), "5h"},
		{thousands(1234567), "1,234,567"}, {thousands(12), "12"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
