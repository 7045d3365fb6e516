package hydrate

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/notes"
	"cumulus-etl/internal/store"
)

// windowBytes bounds the lines held between reading and writing (a longer line is held alone).
const windowBytes = 32 << 20

// lineItem is one input line on its way to the output, waiting for its downloads.
type lineItem struct {
	no      int
	line    []byte
	fills   []fill
	pending atomic.Int32
	done    chan struct{} // closed when every download of the line has ended
}

// fill is one attachment of the line to download, and whether it was (its data is journaled).
type fill struct {
	att       notes.Attachment
	key       string
	journaled bool
}

// job is one download for a line.
type job struct {
	item *lineItem
	i    int // index in item.fills
}

// rewrite streams the file at path through the downloads into a temporary file that replaces
// it at the end, in the same line order and compression. Memory: at most windowBytes of lines
// (or one longer line) plus one note per request in flight (each at most MaxNoteSize); the
// downloaded notes themselves wait in the journal, on disk. When no note was added, the file
// is left as it was.
func (r *runner) rewrite(ctx context.Context, typ, path, rel string, j *journal) error {
	src, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("inlining %s: %w", rel, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("inlining %s: %w", rel, err)
	}
	gzipped := isGzip(src)
	rd, err := ndjson.NewReader(countingReader{src, r.track}, rel)
	if err != nil {
		return fmt.Errorf("inlining: %w", err)
	}
	defer rd.Close()
	out, err := store.CreateAtomic(path, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer out.Abort()
	sum := sha256.New()
	counted := &countingWriter{w: io.MultiWriter(out, sum)}
	var w io.Writer = counted
	var gz *gzip.Writer
	if gzipped {
		gz = gzip.NewWriter(counted)
		w = gz
	}

	g, ctx := errgroup.WithContext(ctx)
	window := make(chan *lineItem, 1024)
	jobs := make(chan job)
	budget := newByteBudget(windowBytes)
	wrote := false      // only the writer sets it; read after Wait
	g.Go(func() error { // reader: plan each line and hand out its downloads
		defer close(window)
		defer close(jobs)
		return r.readLines(ctx, typ, rd, j, budget, window, jobs)
	})
	startWorkers(g, r.opts.MaxConcurrency, jobs, func(jb job) error { return r.download(ctx, jb, rel, j) })
	g.Go(func() error { // writer: lines in order, each once its downloads have ended
		for item := range window {
			select {
			case <-item.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			n, err := r.writeLine(w, item, j)
			if err != nil {
				return err
			}
			wrote = wrote || n > 0
			budget.release(len(item.line))
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if err := rd.Err(); err != nil {
		return fmt.Errorf("inlining: %w", err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return fmt.Errorf("inlining %s: %w", rel, err)
		}
	}
	if !wrote {
		return nil // nothing downloaded: keep the file as it is
	}
	if err := r.lock.Err(); err != nil {
		return err
	}
	// Tell our export's journal first: until the rename its old entry still matches the file.
	if err := bulk.KeepRewritten(r.opts.Dir, rel, counted.n, hex.EncodeToString(sum.Sum(nil))); err != nil {
		return err
	}
	return out.Commit()
}

// readLines reads every line, plans its attachments and sends the line to the writer and its
// downloads to the workers.
func (r *runner) readLines(ctx context.Context, typ string, rd *ndjson.Reader, j *journal, budget *byteBudget,
	window chan<- *lineItem, jobs chan<- job) error {
	for rd.Next() {
		item := &lineItem{no: rd.LineNumber(), line: rd.TakeLine(), done: make(chan struct{})}
		if err := budget.acquire(ctx, len(item.line)); err != nil {
			return err
		}
		atts, err := notes.Attachments(typ, item.line)
		if err != nil {
			r.fail(Failure{Where: fmt.Sprintf("%s:%d", rd.Name(), item.no), Reason: err.Error() + "; line kept as it is"})
		}
		skip := notes.SkipReason(typ, item.line)
		for _, a := range atts {
			where := fmt.Sprintf("%s:%d %s", rd.Name(), item.no, a.Path)
			switch p := r.planFor(a, skip); p {
			case planFetch:
				key := a.MediaType + " " + a.URL
				item.fills = append(item.fills, fill{att: a, key: key, journaled: j.claim(key)})
			case planRelative:
				r.stats.Relative.Add(1)
				r.fail(Failure{Where: where, URL: redact(a.URL), Reason: ErrRelativeURL.Error()})
			default:
				r.stats.count(p, 1)
			}
		}
		var todo []int
		for i, f := range item.fills {
			if !f.journaled {
				todo = append(todo, i)
			}
		}
		item.pending.Store(int32(len(todo)))
		if len(todo) == 0 {
			close(item.done)
		}
		select {
		case window <- item:
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, i := range todo {
			select {
			case jobs <- job{item, i}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// download fetches one note into the journal. A failed download is reported and counted; only
// a fatal error (credentials) or the end of ctx stops the run.
func (r *runner) download(ctx context.Context, jb job, rel string, j *journal) error {
	f := &jb.item.fills[jb.i]
	defer func() {
		if jb.item.pending.Add(-1) == 0 {
			close(jb.item.done)
		}
	}()
	d, err := r.get(ctx, f.att.URL, f.att.MediaType, r.opts.MaxNoteSize)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case fhir.Unfixable(err):
		return err
	case errors.Is(err, errTooLarge):
		r.stats.TooLarge.Add(1)
		r.track.Add(1, 0)
		r.opts.Progress.Warn(fmt.Sprintf("too large: %s:%d %s %s: %v", rel, jb.item.no, f.att.Path, redact(f.att.URL), err))
		return nil
	default:
		r.fail(Failure{Where: fmt.Sprintf("%s:%d %s", rel, jb.item.no, f.att.Path), URL: redact(f.att.URL), Reason: reason(err)})
		return nil
	}
	r.stats.Bytes.Add(int64(len(d.body)))
	if err := j.add(journalEntry{Key: f.key, MediaType: f.att.MediaType, Charset: d.charset, Body: d.body}); err != nil {
		return err
	}
	f.journaled = true
	return nil
}

// fail counts and reports a failed download.
func (r *runner) fail(f Failure) {
	r.stats.Failed.Add(1)
	r.stats.addFailure(f)
	if r.track != nil {
		r.track.Add(1, 0)
	}
	r.opts.Progress.Warn("failed: " + f.String())
}

// writeLine writes the line with its journaled notes spliced into their attachments, and
// returns how many notes it added.
func (r *runner) writeLine(w io.Writer, item *lineItem, j *journal) (int, error) {
	var buf bytes.Buffer
	last, added := 0, 0
	for _, f := range item.fills { // in the line's order
		if !f.journaled {
			continue
		}
		e, err := j.take(f.key)
		if err != nil {
			return 0, err
		}
		att, err := notes.Inlined(f.att.Raw, e.MediaType, e.Charset, e.Body)
		if err != nil {
			return 0, err
		}
		buf.Write(item.line[last:f.att.Offset])
		buf.Write(att)
		last = f.att.Offset + len(f.att.Raw)
		added++
	}
	if added == 0 {
		_, err := w.Write(append(item.line, '\n'))
		return 0, wrapWrite(err)
	}
	buf.Write(item.line[last:])
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return 0, wrapWrite(err)
	}
	r.stats.Inlined.Add(int64(added))
	r.track.Add(int64(added), 0)
	return added, nil
}

func wrapWrite(err error) error {
	if err != nil {
		return fmt.Errorf("writing the inlined file: %w", err)
	}
	return nil
}

// isGzip reports whether the file starts with the gzip magic bytes, and rewinds it.
func isGzip(f *os.File) bool {
	magic := make([]byte, 2)
	n, _ := io.ReadFull(f, magic)
	_, _ = f.Seek(0, io.SeekStart)
	return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
