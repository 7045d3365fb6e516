package etl

import (
	"context"
	"errors"
	"fmt"
	"os"

	"cumulus-etl/internal/input"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/tables"
)

// TaskSummary is what one task did; it is written as JobConfig/<time>/<task>.json.
type TaskSummary struct {
	Label       string  `json:"label"`
	Attempt     int64   `json:"attempt"`      // rows read
	Success     int64   `json:"success"`      // rows that were de-identified (or skipped on purpose)
	SuccessRate float64 `json:"success_rate"` // success / attempt, 1 when nothing was read
	Timestamp   string  `json:"timestamp"`
	Hostname    string  `json:"hostname"`
	HadErrors   bool    `json:"had_errors"`

	Written    int64 `json:"written"`    // rows in the output table
	Rejected   int64 `json:"rejected"`   // bad rows (listed on stderr and in --errors-to)
	Skipped    int64 `json:"skipped"`    // resources dropped on purpose (unknown modifierExtension)
	Duplicates int64 `json:"duplicates"` // earlier copies replaced by a later copy of the same id
	Deleted    int64 `json:"deleted"`    // rows removed because the export's deleted/ folder lists them
	// Errors are shown on stderr, never written to OUTPUT: messages about bad rows can quote PHI.
	Errors []string `json:"-"`
}

// progressEvery is how many rows a task reads between two reports to Config.Progress.
const progressEvery = 1000

// maxErrorsShown bounds how many rejected-row messages a task prints and keeps in its summary.
const maxErrorsShown = 20

// taskRun holds what one task needs to run.
type taskRun struct {
	job          *job
	task         Task
	files        []input.File
	deleted      map[string]struct{}   // de-identified ids
	onRow        func(id string) error // sees the id of every row that stays in the table
	beforeCommit func() error          // runs after all rows are written, before the table is swapped in
	summary      *TaskSummary
	rejected     *rejectLog
}

func (t *taskRun) run(ctx context.Context) error {
	spillDir, err := t.job.scratch.MkdirTemp(t.task.Name + "-")
	if err != nil {
		return fmt.Errorf("creating a temporary folder: %w", err)
	}
	defer os.RemoveAll(spillDir)

	var inputBytes int64
	for _, f := range t.files {
		inputBytes += f.Size * compressionFactor(f.Path)
	}
	w, err := t.job.format.Create(ctx, t.task.Name, tables.Spec{Resource: t.task.Resource, Deleted: t.deleted})
	if err != nil {
		return err
	}
	defer w.Abort()
	table, err := newLastWins(w, spillDir, partitionsFor(inputBytes))
	if err != nil {
		return err
	}
	defer table.close()

	proc := &processor{resource: t.task.Resource, scrubber: t.job.scrubber, keepRaw: t.rejected.keepsRaw()}
	unreadable := false
	// Live progress (issue 10 item 17): rows read and input bytes, against the input's size.
	tracker := progress.Or(t.job.cfg.Progress).Track(t.task.Name, progress.Totals{Unit: "rows", Bytes: inputBytes})
	defer tracker.Done()
	var readBytes int64
	defer func() { tracker.Add(t.summary.Attempt%progressEvery, readBytes) }()
	err = runPipeline(ctx, t.files, proc, t.job.cfg.Workers, func(r rowResult) error {
		t.summary.Attempt++
		if readBytes += int64(r.size); t.summary.Attempt%progressEvery == 0 {
			tracker.Add(progressEvery, readBytes)
			readBytes = 0
		}
		switch r.status {
		case rowKept:
			err := table.write(r.id, r.row)
			if errors.Is(err, tables.ErrRowDoesNotFit) {
				// A value the table's FHIR R4 columns cannot hold: a rejected row, never a silent null.
				r.status, r.err = rowRejected, err
				if t.rejected.keepsRaw() {
					r.raw = r.row // the de-identified row: the input line is no longer at hand
				}
				break
			}
			t.summary.Success++
			return err
		case rowSkipped:
			t.summary.Success++
			t.summary.Skipped++
		}
		if r.status == rowRejected {
			t.summary.Rejected++
			t.noteError(fmt.Sprintf("%s:%d: %v", r.file, r.line, r.err))
			return t.rejected.add(r)
		}
		return nil
	}, func(err error) {
		unreadable = true
		t.noteError(err.Error())
	})
	if err != nil {
		return err
	}
	if unreadable {
		// A file cut short (a truncated gzip, say) would leave a table missing rows: keep the
		// previous table instead of replacing it with a partial one.
		return fmt.Errorf("an input file could not be read to its end; table %s was not replaced", t.task.Name)
	}

	stats, err := table.finish(t.deleted, t.onRow)
	if err != nil {
		return err
	}
	t.summary.Duplicates, t.summary.Deleted = stats.duplicates, stats.deleted
	t.summary.Written = w.Rows()
	if t.beforeCommit != nil {
		if err := t.beforeCommit(); err != nil {
			return err
		}
	}
	return commitTable(w, t.task.Name, t.job.locks.check)
}

// commitTable publishes a table, unless mayPublish says the run lost a lock it holds.
func commitTable(w tables.Writer, name string, mayPublish func() error) error {
	if err := mayPublish(); err != nil {
		return fmt.Errorf("table %s not published: %w", name, err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("writing table %s: %w", name, err)
	}
	return nil
}

// noteError records a problem with the task: counted, shown (up to a limit) and kept in the summary.
func (t *taskRun) noteError(msg string) {
	t.summary.HadErrors = true
	if len(t.summary.Errors) < maxErrorsShown {
		t.summary.Errors = append(t.summary.Errors, msg)
		fmt.Fprintf(t.job.cfg.Stderr, "  %s: %s\n", t.task.Name, msg)
	} else if len(t.summary.Errors) == maxErrorsShown {
		t.summary.Errors = append(t.summary.Errors, "(more errors not shown; see --errors-to)")
		fmt.Fprintf(t.job.cfg.Stderr, "  %s: more errors not shown (use --errors-to DIR to keep every rejected row)\n", t.task.Name)
	}
}

// compressionFactor estimates how much larger a file's content is than its size on disk.
func compressionFactor(path string) int64 {
	if len(path) > 3 && path[len(path)-3:] == ".gz" {
		return 8
	}
	return 1
}
