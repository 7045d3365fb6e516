package bulk

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// barReporter draws live bars on a terminal: files done of files known, bytes with rate and
// ETA, and the server's X-Progress text while the export is being prepared.
type barReporter struct {
	p      *mpb.Progress
	files  *mpb.Bar
	data   *mpb.Bar
	status atomic.Value // string
	known  atomic.Int64
}

func newBarReporter(w io.Writer) *barReporter {
	r := &barReporter{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithAutoRefresh())}
	r.status.Store("starting…")
	r.files = r.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("files "), decor.CountersNoUnit("%d / %d")),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return r.status.Load().(string) })))
	r.data = r.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("data  "), decor.Current(decor.SizeB1024(0), "% .1f")),
		mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), "% .1f"), decor.Name("  ETA "),
			decor.AverageETA(decor.ET_STYLE_GO)))
	return r
}

// info prints a lasting message above the bars (transient state goes in the status text).
func (r *barReporter) info(msg string) { fmt.Fprintln(r.p, msg) }

func (r *barReporter) warn(msg string) { fmt.Fprintf(r.p, "Warning: %s\n", msg) }

func (r *barReporter) waiting(progress string, waited, next time.Duration) {
	if progress == "" {
		progress = "waiting…"
	}
	r.status.Store(fmt.Sprintf("%s (%s so far, next check in %s)", progress, humanDuration(waited), humanDuration(next)))
}

func (r *barReporter) filesKnown(n int) {
	r.status.Store("")
	r.known.Store(int64(n))
	r.files.SetTotal(int64(n), false)
}

func (r *barReporter) fileDone(string, int64) { r.files.Increment() }

func (r *barReporter) bytes(n int64) { r.data.IncrInt64(n) }

func (r *barReporter) close() {
	r.files.SetTotal(-1, true)
	r.data.SetTotal(-1, true)
	r.p.Wait()
}
