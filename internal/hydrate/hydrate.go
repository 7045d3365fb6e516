// Package hydrate fills in what bulk exports leave out, in the export folder itself: it inlines
// clinical notes (the attachments of DocumentReference and DiagnosticReport, downloaded into
// attachment.data) and fetches resources that exported resources reference but the export lacks
// (Medication for MedicationRequest and MedicationDispense, into Medication.hydrated.ndjson).
//
// Every task is resumable and idempotent: data files are rewritten atomically, whatever a task
// downloads is journaled at once under DIR/.cumulus-hydrate (so a killed run loses nothing it
// had), and a rerun downloads nothing it already has. One failed download never stops a task:
// it is reported with its URL and reason and counted. Requests go through the FHIR client, so
// its retries, Retry-After handling and credential scoping apply; concurrency adapts to the
// server (it halves when the server throttles and grows back).
package hydrate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/notes"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/store"
)

// Doer sends HTTP requests; *fhir.Client is one (relative URLs resolve against its base URL).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Task names.
const (
	TaskDocInline  = "doc-inline" // DocumentReference.content[].attachment
	TaskDxrInline  = "dxr-inline" // DiagnosticReport.presentedForm[]
	TaskMedication = "medication" // Medication referenced by MedicationRequest/MedicationDispense
)

// Defaults for Options fields left zero.
const (
	DefaultMaxNoteSize    = 8 << 20
	DefaultMaxConcurrency = 8
	DefaultNoteTimeout    = 15 * time.Minute
	stateDirName          = ".cumulus-hydrate"
)

// ErrRelativeURL means a relative URL was met and no FHIR server was given to resolve it against.
var ErrRelativeURL = errors.New("a relative URL needs --fhir-url")

// Options configures Run. Zero values take the defaults.
type Options struct {
	Dir            string   // the export folder, read and rewritten in place
	Client         Doer     // sends every request
	Base           string   // the FHIR server relative URLs resolve against (Client's); "": relative URLs fail
	MediaTypes     []string // attachment types to inline (default notes.DefaultMediaTypes)
	MaxNoteSize    int64    // larger notes are left as links and counted (default 8 MiB)
	MaxConcurrency int      // most requests at once (default 8); starts at half and adapts
	NoteTimeout    time.Duration
	Progress       progress.Reporter // nil: nothing is shown; failures are Warn, one tracker per task
	Now            func() time.Time
}

func (o Options) withDefaults() Options {
	if len(o.MediaTypes) == 0 {
		o.MediaTypes = notes.DefaultMediaTypes
	}
	if o.MaxNoteSize <= 0 {
		o.MaxNoteSize = DefaultMaxNoteSize
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = DefaultMaxConcurrency
	}
	if o.NoteTimeout <= 0 {
		o.NoteTimeout = DefaultNoteTimeout
	}
	o.Progress = progress.Or(o.Progress)
	if o.Now == nil {
		o.Now = time.Now
	}
	mts := make([]string, len(o.MediaTypes)) // the caller's slice (maybe a flag default) stays as it is
	for i, mt := range o.MediaTypes {
		mts[i] = notes.MediaType(mt)
	}
	o.MediaTypes = mts
	return o
}

// task is one kind of hydration over an export folder.
type task interface {
	name() string
	run(ctx context.Context, r *runner, exp *input.Export) error
}

// tasks holds every task by name. A task fetching Practitioner, Location or Organization for
// their references is one more referenceTask entry in references.go.
var tasks = map[string]task{
	TaskDocInline:  inlineTask{taskName: TaskDocInline, resourceType: notes.DocumentReference},
	TaskDxrInline:  inlineTask{taskName: TaskDxrInline, resourceType: notes.DiagnosticReport},
	TaskMedication: medicationTask,
}

// Resources lists the resource types the tasks read from the server, for the token's scopes:
// Binary for the notes, the target type of a reference task.
func Resources(names []string) []string {
	var out []string
	for _, n := range names {
		switch t := tasks[n].(type) {
		case inlineTask:
			out = append(out, "Binary")
		case referenceTask:
			out = append(out, t.target)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TaskNames lists the tasks in the order they run.
func TaskNames() []string { return []string{TaskDocInline, TaskDxrInline, TaskMedication} }

// CheckTasks returns the tasks named (comma separated values allowed) in run order, every task
// when names is empty, or an error naming an unknown one.
func CheckTasks(names []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		for _, one := range strings.Split(n, ",") {
			one = strings.ToLower(strings.TrimSpace(one))
			if one == "" {
				continue
			}
			if tasks[one] == nil {
				return nil, fmt.Errorf("unknown hydration task %q (tasks: %s)", one, strings.Join(TaskNames(), ", "))
			}
			want[one] = true
		}
	}
	var out []string
	for _, n := range TaskNames() {
		if len(want) == 0 || want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Run runs the named tasks (see CheckTasks) over opts.Dir, one after another, and reports what
// each did. Failed downloads do not make it fail (see Report.Failed); it fails on I/O errors,
// on credentials the server refuses, and when ctx ends.
func Run(ctx context.Context, opts Options, names []string) (*Report, error) {
	o := opts.withDefaults()
	if o.Client == nil {
		return nil, errors.New("hydrate: no client")
	}
	names, err := CheckTasks(names)
	if err != nil {
		return nil, err
	}
	st := store.NewLocal(o.Dir, store.Options{Private: true}) // a local folder: files are rewritten in place
	lock, err := store.Acquire(ctx, st, "hydrate", store.LockOptions{Purpose: "hydrate: inlining notes, fetching references"})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Dir, err) // two runs would rewrite the same files
	}
	defer lock.Release(context.WithoutCancel(ctx))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-lock.Lost():
			cancel(lock.Err())
		case <-ctx.Done():
		}
	}()
	exp, err := input.Scan(ctx, st)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: o, limit: fhir.NewLimiter(max(1, o.MaxConcurrency/2), o.MaxConcurrency), lock: lock}
	report := &Report{}
	for _, name := range names {
		t := tasks[name]
		r.stats = &TaskStats{Task: name}
		report.Tasks = append(report.Tasks, r.stats)
		err := t.run(ctx, r, exp)
		if r.track != nil {
			r.track.Done()
			r.track = nil
		}
		if err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, store.ErrLockLost) {
				err = cause
			}
			return report, fmt.Errorf("%s: %w", name, err)
		}
	}
	return report, nil
}

// runner is what every task shares during a Run.
type runner struct {
	opts  Options
	limit *fhir.Limiter
	lock  *store.Lock      // on DIR: checked right before a file is replaced
	stats *TaskStats       // of the task running
	track progress.Tracker // of the task running: items are notes (or resources), bytes the input read
}

// filesOf returns the data files of the given resource types, in path order.
func filesOf(exp *input.Export, types ...string) []input.File {
	var out []input.File
	for _, t := range types {
		out = append(out, exp.Resources[t]...)
	}
	slices.SortFunc(out, func(a, b input.File) int { return strings.Compare(a.Path, b.Path) })
	return out
}
