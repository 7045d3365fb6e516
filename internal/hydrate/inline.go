package hydrate

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cumulus-etl/internal/input"
	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/notes"
	"cumulus-etl/internal/progress"
)

// inlineTask downloads the notes of one resource type into their attachments.
type inlineTask struct {
	taskName     string
	resourceType string
}

func (t inlineTask) name() string { return t.taskName }

func (t inlineTask) run(ctx context.Context, r *runner, exp *input.Export) error {
	files := filesOf(exp, t.resourceType)
	var total int64
	for _, f := range files {
		total += f.Size
	}
	r.track = r.opts.Progress.Track(t.taskName, progress.Totals{Unit: "notes", Bytes: total})
	for _, f := range files {
		if err := r.inlineFile(ctx, t.resourceType, f.Path); err != nil {
			return err
		}
	}
	return nil
}

// plan is what to do with one attachment.
type plan int

const (
	planSkipStatus plan = iota
	planSkipType
	planDone
	planNoURL
	planRelative
	planFetch
)

// planFor decides what an attachment of a note needs; skip is the note's SkipReason.
func (r *runner) planFor(a notes.Attachment, skip string) plan {
	switch {
	case !slices.Contains(r.opts.MediaTypes, a.MediaType):
		return planSkipType
	case a.HasData:
		return planDone
	case skip != "":
		return planSkipStatus
	case a.URL == "":
		return planNoURL
	case r.opts.Base == "" && isRelative(a.URL):
		return planRelative
	}
	return planFetch
}

// count adds n attachments of one plan to the task's counters (planFetch is counted when it ends).
func (s *TaskStats) count(p plan, n int64) {
	switch p {
	case planSkipStatus:
		s.SkippedStatus.Add(n)
	case planSkipType:
		s.SkippedType.Add(n)
	case planDone:
		s.AlreadyDone.Add(n)
	case planNoURL:
		s.NoURL.Add(n)
	}
}

// inlineFile brings one data file up to date. A file with nothing to download is only read
// (a rerun of a finished folder rewrites nothing); otherwise it is rewritten atomically with
// every note that could be downloaded, journaling each download as it arrives.
func (r *runner) inlineFile(ctx context.Context, typ, path string) error {
	real, err := filepath.EvalSymlinks(path) // rewrite the file a link points to, keeping the link
	if err != nil {
		return fmt.Errorf("inlining %s: %w", path, err)
	}
	rel := r.relPath(real)
	jpath := filepath.Join(r.opts.Dir, stateDirName, "inline", strings.ReplaceAll(rel, string(filepath.Separator), "__")+".journal")
	work, err := r.needsWork(typ, real, rel)
	if err != nil || !work {
		if err == nil {
			err = removeIfExists(jpath) // left by a run that ended between its rename and this cleanup
		}
		return err
	}
	j, err := openJournal(jpath)
	if err != nil {
		return err
	}
	if err := r.rewrite(ctx, typ, real, rel, j); err != nil {
		_ = j.close(false)
		return err
	}
	return j.close(true)
}

// relPath names a file relative to DIR for messages and journal names.
func (r *runner) relPath(path string) string {
	root, err := filepath.EvalSymlinks(r.opts.Dir)
	if err != nil {
		root = r.opts.Dir
	}
	if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// needsWork reads the file until a note needs a download. When none does, it counts every
// attachment and the bytes read; when one does, it counts nothing (rewrite will).
func (r *runner) needsWork(typ, path, rel string) (bool, error) {
	rd, err := ndjson.Open(path)
	if err != nil {
		return false, fmt.Errorf("inlining %s: %w", rel, err)
	}
	defer rd.Close()
	var counts [planFetch + 1]int64
	for rd.Next() {
		atts, err := notes.Attachments(typ, rd.Line())
		if err != nil {
			return true, nil // rewrite reports it with its line number
		}
		skip := notes.SkipReason(typ, rd.Line())
		for _, a := range atts {
			p := r.planFor(a, skip)
			if p == planFetch || p == planRelative {
				return true, nil
			}
			counts[p]++
		}
	}
	if err := rd.Err(); err != nil {
		return false, fmt.Errorf("inlining: %w", err)
	}
	var handled int64
	for p, n := range counts {
		r.stats.count(plan(p), n)
		handled += n
	}
	if fi, err := os.Stat(path); err == nil {
		r.track.Skip(handled, fi.Size())
	}
	return false, nil
}

// removeIfExists removes path, which may be missing.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// countingReader tells a tracker how many bytes pass.
type countingReader struct {
	r io.Reader
	t progress.Tracker
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.t.Add(0, int64(n))
	return n, err
}
