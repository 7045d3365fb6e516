package crawl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// patient is one cohort member to crawl.
type patient struct {
	index int    // line of the cohort file
	id    string // Patient id
	new   bool   // not in the previous export's cohort: gets its whole history
}

// worker crawls patients one after another into its own slot of files.
type worker struct {
	r    *run
	slot *slot
	buf  bytes.Buffer

	// for the patient being crawled
	p          patient
	maxUpdated time.Time
	resources  int64
	added      int64           // bytes written, once the patient is done
	seen       map[string]bool // ids of the current type, when it has several queries
}

// crawl searches every planned type for p. On success the patient's lines are committed; on
// failure they are cut off again and the error says which search failed.
func (w *worker) crawl(ctx context.Context, p patient) error {
	w.p, w.maxUpdated, w.resources = p, time.Time{}, 0
	if err := w.slot.begin(); err != nil {
		return err
	}
	for _, plan := range w.r.plans {
		if err := w.crawlType(ctx, plan); err != nil {
			if uerr := w.slot.undo(); uerr != nil {
				return uerr
			}
			return err
		}
	}
	sizes, added, err := w.slot.finish()
	if err != nil {
		return err
	}
	w.added = added
	w.r.resources.Add(w.resources)
	req := commitReq{patient: p.index, sizes: sizes, resources: w.resources}
	if !w.maxUpdated.IsZero() {
		req.maxUpdated = w.maxUpdated.UTC().Format(instantLayout)
	}
	return w.r.commits.commit(req)
}

// crawlType runs the searches of one type for the current patient: one per query, resources
// that two queries both find written once.
func (w *worker) crawlType(ctx context.Context, plan typeSearch) error {
	w.seen = nil
	if len(plan.Queries) > 1 {
		w.seen = map[string]bool{} // bounded by this one patient's resources of this type
	}
	for _, q := range plan.Queries {
		target := plan.url(w.p.id, q, w.p.new)
		err := w.r.search(ctx, target, func(e entry) error { return w.keep(plan.Type, e) })
		if err != nil {
			return &patientError{typ: plan.Type, err: err}
		}
	}
	return nil
}

// keep writes one entry where it belongs: an OperationOutcome to the error files; a resource of
// the searched type that names this patient to the type's file; anything else to the strays,
// which are sorted out once every patient is done.
func (w *worker) keep(typ string, e entry) error {
	line, err := compactLine(&w.buf, e.Resource)
	if err != nil {
		return fmt.Errorf("an entry's resource is not JSON: %w", err)
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return fmt.Errorf("an entry's resource is not a JSON object: %w", err)
	}
	if e.Search.Mode == "outcome" || h.ResourceType == "OperationOutcome" {
		return w.slot.write(kindOutcome, line)
	}
	w.noteUpdated(h.Meta.LastUpdated)
	owner := h.Patient.patientID()
	if owner == "" {
		owner = h.Subject.patientID()
	}
	if h.ResourceType == "Patient" {
		owner = h.ID
	}
	if h.ResourceType != typ || owner != w.p.id || h.ID == "" {
		return w.stray(h, owner, line)
	}
	if w.seen != nil {
		if w.seen[h.ID] {
			return nil
		}
		w.seen[h.ID] = true
	}
	w.resources++
	return w.slot.write(typ, line)
}

// stray spills a resource that is not plainly this patient's: "Type/id TAB owner TAB resource".
// An id-less resource is keyed by its content.
func (w *worker) stray(h header, owner string, line []byte) error {
	id := h.ID
	if id == "" {
		sum := sha256.Sum256(line)
		id = "#" + hex.EncodeToString(sum[:8])
	}
	rec := make([]byte, 0, len(line)+len(h.ResourceType)+len(id)+len(owner)+3)
	rec = append(append(append(append(rec, h.ResourceType...), '/'), id...), '\t')
	rec = append(append(append(rec, owner...), '\t'), line...)
	return w.slot.write(kindStray, rec)
}

// instantLayout writes instants in UTC with a fixed number of digits, so they sort as text.
const instantLayout = "2006-01-02T15:04:05.000000Z07:00"

// noteUpdated keeps the newest meta.lastUpdated that is not in the future (a typo).
func (w *worker) noteUpdated(v string) {
	if v == "" {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.After(w.maxUpdated) && !t.After(w.r.now()) {
		w.maxUpdated = t
	}
}

// patientError is a patient's failed search.
type patientError struct {
	typ string
	err error
}

func (e *patientError) Error() string { return "searching " + e.typ + ": " + e.err.Error() }
func (e *patientError) Unwrap() error { return e.err }
