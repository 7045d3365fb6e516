package bulk

import (
	"fmt"
	"sync"
	"sync/atomic"

	"cumulus-etl/internal/progress"
)

// count adds a file downloaded now.
func (r *run) count(job fileJob, e journalEntry) {
	r.result.Files++
	r.result.Resources += e.Resources
	r.result.Bytes += e.Size
	r.files.get().Add(1, 0) // its bytes were counted as they streamed
	r.progress.Detail(fmt.Sprintf("  Downloaded %s (%s)", job.name, progress.HumanSize(e.Size)))
}

// keep adds a file an earlier run downloaded and the journal vouches for (issue 13 item 6).
func (r *run) keep(name string, e journalEntry) {
	r.result.Files++
	r.result.Resources += e.Resources
	r.result.Bytes += e.Size
	r.result.KeptFiles++
	r.result.KeptBytes += e.Size
	r.files.get().Skip(1, e.Size)
	r.progress.Detail(fmt.Sprintf("  Kept %s (%s), downloaded by an earlier run", name, progress.HumanSize(e.Size)))
}

// summary says what was downloaded now and what was kept, apart.
func (res *Result) summary() string {
	s := fmt.Sprintf("Downloaded %d files (%s)", res.Files-res.KeptFiles, progress.HumanSize(res.Bytes-res.KeptBytes))
	if res.KeptFiles > 0 {
		s += fmt.Sprintf("; kept %d files (%s) downloaded by an earlier run", res.KeptFiles, progress.HumanSize(res.KeptBytes))
	}
	return s + fmt.Sprintf("; %d resources in all", res.Resources)
}

// lazyTracker starts the downloads' progress tracker at the first file, so its elapsed time and
// rate leave out the hours a server may take to prepare the export.
type lazyTracker struct {
	report  progress.Reporter
	once    sync.Once
	t       progress.Tracker
	started atomic.Bool
}

func (l *lazyTracker) get() progress.Tracker {
	l.once.Do(func() {
		l.t = l.report.Track("download", progress.Totals{Unit: "files"})
		l.started.Store(true)
	})
	return l.t
}

// done finishes the tracker, if it was started.
func (l *lazyTracker) done() {
	if l.started.Load() {
		l.get().Done()
	}
}
