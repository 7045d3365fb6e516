package bulk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/redact"
)

// run is one export in progress.
type run struct {
	client    Doer
	opts      Options
	log       *exportLog
	progress  progress.Reporter
	files     *lazyTracker // downloads: files and bytes
	wait      *waiter
	started   time.Time
	statusURL string
	journal   *journal
	dl        *downloader
	queue     *jobQueue
	refreshMu sync.Mutex

	mu       sync.Mutex
	jobs     map[string]*fileJob // by key
	errJobs  []string            // names of error files, in manifest order
	counters map[string]int
	txTime   string
	result   Result
	errs     []error
}

// Export runs (or resumes) a bulk export into opts.Dir and returns what it wrote. Files already
// journaled as complete in DIR are kept; a saved status URL is re-attached to. When the server's
// OperationOutcome files report errors, every file is still downloaded and the error wraps
// ErrServerReportedErrors; every other failure wraps ErrExportFailed (or is ctx's error).
func Export(ctx context.Context, client Doer, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if o.Dir == "" {
		return nil, fmt.Errorf("%w: no destination folder", ErrExportFailed)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", o.Dir, err)
	}
	r := &run{client: client, opts: o, progress: progress.Or(o.Progress), started: o.Clock.Now(),
		jobs: map[string]*fileJob{}, counters: map[string]int{}, queue: newJobQueue()}
	r.files = &lazyTracker{report: r.progress}
	r.wait = newWaiter(o.Clock, r.started, o.Timeout, r.progress)
	defer r.files.done()
	r.log = newExportLog(o.Dir, o.Clock, o.ClientVersion)
	defer r.log.close()
	_, r.result.GroupName, _ = ParseExportURL(o.URL)
	var err error
	if r.journal, err = openJournal(o.Dir); err != nil {
		return nil, err
	}
	defer r.journal.close()
	r.dl = &downloader{client: client, opts: o, dir: o.Dir, log: r.log, journal: r.journal,
		limits: &limiters{start: o.Concurrency, max: o.MaxConcurrency}, progress: r.progress, files: r.files, wait: r.wait, batches: newCommitBatches(), refresh: r.refresh}
	st, err := r.attach(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Complete {
		if err := r.downloadAll(ctx); err != nil {
			return &r.result, err
		}
		_ = r.log.exportComplete(r.result.Files, r.result.Resources, r.result.Bytes)
		st.Complete, st.TransactionTime = true, r.txTime
		if err := saveState(o.Dir, st); err != nil {
			return &r.result, err
		}
	}
	r.result.TransactionTime = parseTransactionTime(st.TransactionTime)
	if st.TransactionTime != "" && r.result.TransactionTime.IsZero() {
		r.progress.Warn(fmt.Sprintf("the server's transactionTime %q is not a valid instant", st.TransactionTime))
	}
	if !st.Deleted {
		r.deleteJob(ctx, st)
	}
	return &r.result, r.serverErrors()
}

// attach kicks off a new export, or re-attaches to --resume or the status URL saved in DIR,
// saving the status URL before any polling (KO-36).
func (r *run) attach(ctx context.Context) (*savedState, error) {
	saved, err := loadState(r.opts.Dir)
	if err != nil {
		return nil, err
	}
	k, err := planKickoff(r.opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExportFailed, err)
	}
	st := &savedState{ExportURL: k.url}
	switch {
	case r.opts.Resume != "":
		st.StatusURL = unquoteResume(r.opts.Resume)
		if saved != nil && saved.StatusURL == st.StatusURL {
			st = saved
		}
		r.progress.Info("Resuming bulk FHIR export from " + redact.URL(st.StatusURL) + " (all other export arguments ignored)")
	case saved != nil && saved.Mode != "":
		return nil, fmt.Errorf("%w: %s holds a %s of %s, not a bulk export; use an empty folder", ErrOtherExport,
			r.opts.Dir, saved.Mode, saved.ExportURL)
	case saved != nil && saved.StatusURL != "":
		if !sameExport(saved.ExportURL, k.url) {
			return nil, fmt.Errorf("%w: %s holds the export of %s, not of %s; rerun with the same arguments to resume it, "+
				"or use an empty folder", ErrOtherExport, r.opts.Dir, redact.URL(saved.ExportURL), redact.URL(k.url))
		}
		st = saved
		r.progress.Info("Resuming the bulk FHIR export saved in " + r.opts.Dir + " (" + redact.URL(st.StatusURL) + ")")
	default:
		r.progress.Info("Starting bulk FHIR export: " + redact.URL(k.url))
		if st.StatusURL, err = r.kickoff(ctx, k); err != nil {
			return nil, err
		}
		r.progress.Info(resumeHint(st.StatusURL))
	}
	r.statusURL, r.result.StatusURL, r.result.ExportURL = st.StatusURL, st.StatusURL, st.ExportURL
	r.log.setExportID(st.StatusURL)
	if saved == nil || saved.StatusURL != st.StatusURL {
		if len(r.journal.listed) > 0 {
			r.progress.Info("Removing the files of an earlier export from " + r.opts.Dir)
		}
		if err := r.journal.discard(); err != nil {
			return nil, err
		}
	}
	if lost := r.journal.unverified(); st.Complete && len(lost) > 0 {
		r.progress.Warn(fmt.Sprintf("%d files of the finished export are missing or changed in %s (%s); downloading them again",
			len(lost), r.opts.Dir, strings.Join(lost, ", ")))
		st.Complete = false
	}
	if err := saveState(r.opts.Dir, st); err != nil {
		return nil, err
	}
	if st.Complete {
		r.loadCompleted()
	}
	return st, nil
}

// resumeHint tells how to resume the export later. A status URL that carries a credential is not
// printed in full: rerunning the same command resumes from the URL saved in DIR.
func resumeHint(statusURL string) string {
	if shown := redact.URL(statusURL); shown != statusURL {
		return "Export started (" + shown + "); to resume it later, run the same command again"
	}
	return "Export started; to resume it later, run the same command again or use --resume=" + url.QueryEscape(statusURL)
}

// unquoteResume undoes the URL-quoting of a --resume value printed at kick-off.
func unquoteResume(s string) string {
	if !strings.Contains(s, ":") {
		if u, err := url.QueryUnescape(s); err == nil {
			return u
		}
	}
	return s
}

// loadCompleted fills the result from the journal of an export finished by an earlier run.
func (r *run) loadCompleted() {
	for name, e := range r.journal.done {
		r.keep(name, e)
		if strings.HasPrefix(name, "error/") {
			r.errJobs = append(r.errJobs, name)
		}
	}
}

// commitWorkers is how many downloads may be waiting for the disk while others use every
// connection slot.
const commitWorkers = 4

// downloadAll walks the manifest pages, downloading files while later pages are awaited.
func (r *run) downloadAll(ctx context.Context) error {
	var wg sync.WaitGroup
	// More workers than connections: a worker making its file durable has released its
	// connection slot, which another worker then uses.
	for range r.opts.MaxConcurrency + commitWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job, ok := r.queue.pop(); ok; job, ok = r.queue.pop() {
				e, err := r.dl.fetch(ctx, job)
				if ctx.Err() == nil || err == nil {
					r.finish(job, e, err) // a download cut short by cancellation is no failure
				}
			}
		}()
	}
	pageErr := r.walkPages(ctx, true)
	r.queue.close()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err() // one error for an interruption, not one per queued download
	}
	if pageErr != nil {
		return pageErr
	}
	r.progress.Info(r.result.summary())
	if len(r.errs) > 0 {
		return errors.Join(r.errs...)
	}
	return nil
}

func (r *run) finish(job fileJob, e journalEntry, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.count(job, e)
}

// walkPages follows the status URL and its link-next pages (MF-09, MF-22), adding each page's
// files. With wait, 202 partial pages are re-polled until complete.
func (r *run) walkPages(ctx context.Context, wait bool) error {
	visited := map[string]bool{}
	page := r.statusURL
	ps := &pollState{}
	for {
		m, again, err := r.pollPage(ctx, page, ps)
		if err != nil {
			return err
		}
		r.addPage(page, m)
		if next := m.next(); next != "" {
			if visited[next] || len(visited) > 10000 {
				return fmt.Errorf("%w: manifest pages loop at %s", ErrExportFailed, redact.URL(next))
			}
			visited[page] = true
			page = next
			continue
		}
		if again == 0 || !wait {
			return nil
		}
		if err := r.wait.sleep(ctx, again, r.opts.MaxPollInterval, "status check"); err != nil {
			return err
		}
	}
}

// addPage queues a manifest page's files not yet seen, naming them Type.NNN.ndjson,
// error/OperationOutcome.NNN.ndjson and deleted/Bundle.NNN.ndjson in manifest order.
func (r *run) addPage(pageURL string, m *manifest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var queued []fileJob
	if r.txTime == "" {
		r.txTime = m.TransactionTime
		_ = r.log.event("status_complete", map[string]any{"transactionTime": m.TransactionTime}, nil)
	}
	for _, group := range []struct {
		kind  itemKind
		items []manifestItem
	}{{kindOutput, m.Output}, {kindError, m.Error}, {kindDeleted, m.Deleted}} {
		for i, it := range group.items {
			key := fmt.Sprintf("%s#%s#%d", pageURL, group.kind, i)
			if j := r.jobs[key]; j != nil {
				j.url = it.URL
				continue
			}
			job := fileJob{key: key, kind: group.kind, url: it.URL, count: it.Count, token: m.needsToken()}
			switch group.kind {
			case kindOutput:
				job.want, job.name = it.Type, it.Type
				if it.Type == "" {
					job.name = "Organized"
				}
			case kindError:
				job.want, job.name = "OperationOutcome", "error/OperationOutcome"
			case kindDeleted:
				job.want, job.name = "Bundle", "deleted/Bundle"
			}
			n := r.counters[job.name]
			r.counters[job.name]++
			job.name += fmt.Sprintf(".%03d.ndjson", n)
			r.jobs[key] = &job
			if group.kind == kindError {
				r.errJobs = append(r.errJobs, job.name)
			}
			if e, ok := r.journal.complete(job.name); ok {
				r.keep(job.name, e)
				continue
			}
			queued = append(queued, job)
		}
	}
	r.files.get().SetTotal(int64(len(r.jobs)), 0)
	_ = r.log.event("status_page_complete", map[string]any{"transactionTime": m.TransactionTime,
		"outputFileCount": len(m.Output), "deletedFileCount": len(m.Deleted), "errorFileCount": len(m.Error)}, nil)
	// Queued only now, so the log says the page is complete before any of its downloads starts.
	for _, job := range queued {
		r.queue.push(job)
	}
}

// refresh re-reads the manifest once for fresh file URLs (DL-08) and returns job's new URL.
// Concurrent callers share one re-read.
func (r *run) refresh(ctx context.Context, job fileJob) (string, error) {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	r.mu.Lock()
	cur := r.jobs[job.key].url
	r.mu.Unlock()
	if cur != job.url {
		return cur, nil
	}
	r.progress.Info("A file link expired; fetching the manifest again for fresh links")
	if err := r.walkPages(ctx, false); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jobs[job.key].url, nil
}

// deleteJob tells the server we are done (ST-20); a failure is only a warning (EC-49).
func (r *run) deleteJob(ctx context.Context, st *savedState) {
	resp, err := send(ctx, r.client, http.MethodDelete, st.StatusURL, http.Header{"Accept": {"application/fhir+json"}}, nil)
	if err == nil {
		body, _ := readBody(resp)
		if resp.StatusCode >= 300 {
			err = fmt.Errorf("%s", errorMessage(resp, body))
		}
	}
	if err != nil {
		r.progress.Warn(fmt.Sprintf("Failed to clean up export job on the server side: %v", err))
		return
	}
	st.Deleted = true
	if err := saveState(r.opts.Dir, st); err != nil {
		r.progress.Warn(err.Error())
	}
}

// Cancel DELETEs an export: statusURL if given, else the one saved in dir. The saved state is
// then removed so the next export into dir starts afresh. A 404 or 410 answer means the server
// has already forgotten the export (EC-43), which counts as cancelled.
func Cancel(ctx context.Context, client Doer, dir, statusURL string) error {
	if statusURL == "" && dir != "" {
		st, err := loadState(dir)
		if err != nil {
			return err
		}
		if st != nil {
			statusURL = st.StatusURL
		}
	}
	if statusURL == "" {
		return ErrNoExportToCancel
	}
	statusURL = unquoteResume(statusURL)
	resp, err := send(ctx, client, http.MethodDelete, statusURL, http.Header{"Accept": {"application/fhir+json"}}, nil)
	if err != nil {
		return fmt.Errorf("%w: cancelling %s: %w", ErrExportFailed, redact.URL(statusURL), err)
	}
	body, _ := readBody(resp)
	gone := resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone // EC-43: already forgotten
	if resp.StatusCode >= 300 && !gone {
		return fmt.Errorf("%w: cancelling %s: %s", ErrExportFailed, redact.URL(statusURL), errorMessage(resp, body))
	}
	if dir != "" {
		if err := os.Remove(stateDir(dir) + "/state.json"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("forgetting the cancelled export: %w", err)
		}
	}
	return nil
}
