package hydrate

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Report is what a Run did, task by task.
type Report struct {
	Tasks []*TaskStats
}

// Failed counts the downloads that failed, over every task.
func (r *Report) Failed() int64 {
	var n int64
	for _, t := range r.Tasks {
		n += t.Failed.Load()
	}
	return n
}

// TooLarge counts the notes left as links for being over the size cap.
func (r *Report) TooLarge() int64 {
	var n int64
	for _, t := range r.Tasks {
		n += t.TooLarge.Load()
	}
	return n
}

// RelativeWithoutBase counts the URLs that were relative while no FHIR server was given.
func (r *Report) RelativeWithoutBase() int64 {
	var n int64
	for _, t := range r.Tasks {
		n += t.Relative.Load()
	}
	return n
}

// TaskStats counts what one task did. Failures are also in Failures (each with URL and reason).
type TaskStats struct {
	Task          string
	Inlined       atomic.Int64 // downloaded (or recovered from an interrupted run's journal) and written
	AlreadyDone   atomic.Int64 // had data already, or the resource was in the folder already
	SkippedType   atomic.Int64 // attachment type not asked for (or no type)
	SkippedStatus atomic.Int64 // note entered in error, superseded or preliminary
	NoURL         atomic.Int64 // nothing to download: neither data nor url
	TooLarge      atomic.Int64 // over the size cap: left as a link
	Failed        atomic.Int64 // download failed (also counted in Relative when that was why)
	Relative      atomic.Int64 // relative URL without a FHIR server
	Bytes         atomic.Int64 // bytes downloaded

	mu       sync.Mutex
	failures []Failure
}

// Failure is one download that did not work.
type Failure struct {
	Where  string // file:line and the attachment's place, or the referencing resource
	URL    string // redacted
	Reason string
}

func (f Failure) String() string { return fmt.Sprintf("%s %s: %s", f.Where, f.URL, f.Reason) }

// maxKeptFailures bounds the failures kept for the report; every one is also printed as it happens.
const maxKeptFailures = 1000

// Failures returns the first failures (at most 1000; every one is also a Progress warning as it happens).
func (s *TaskStats) Failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Failure(nil), s.failures...)
}

func (s *TaskStats) addFailure(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) < maxKeptFailures {
		s.failures = append(s.failures, f)
	}
}
