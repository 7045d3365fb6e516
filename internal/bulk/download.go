package bulk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/redact"
)

// fileJob is one manifest entry mapped to its local file name.
type fileJob struct {
	key   string // page URL, array and index: stable when the server refreshes URLs
	kind  itemKind
	name  string // path relative to DIR: Type.NNN.ndjson, error/OperationOutcome.NNN.ndjson, deleted/Bundle.NNN.ndjson
	want  string // expected resourceType of every line
	url   string
	count *int64
	token bool // send credentials (requiresAccessToken)
}

// partMeta is saved next to a partial download so a later run can continue it with Range.
type partMeta struct {
	URLHash      string `json:"urlSha256"` // not the URL: a signed URL is a credential while it lives
	ETag         string `json:"etag,omitempty"`
	AcceptRanges bool   `json:"acceptRanges"`
	GzipSniffed  bool   `json:"gzipSniffed,omitempty"` // gzip body without Content-Encoding: offsets are not resumable
}

// urlHash identifies a file URL in saved state without storing it.
func urlHash(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:])
}

// partial is the in-progress state of one file: the decoded bytes on disk and the streaming
// hash and line checker over exactly those bytes.
type partial struct {
	path    string
	meta    partMeta
	saved   bool // path.json may exist
	offset  int64
	hash    hash.Hash
	checker *lineChecker
}

// Failure classes that drive the retry loop in fetch.
var (
	errExpiredLink = errors.New("file link expired or refused")
	errThrottled   = errors.New("server is throttling downloads")
	errTransient   = errors.New("transient download failure")
)

// classedError carries a failure class and any Retry-After the server sent.
type classedError struct {
	class      error
	err        error
	retryAfter http.Header
}

func (e *classedError) Error() string { return e.err.Error() }
func (e *classedError) Unwrap() []error {
	return []error{e.class, e.err}
}

func classed(class error, h http.Header, format string, args ...any) error {
	return &classedError{class: class, err: fmt.Errorf(format, args...), retryAfter: h}
}

// downloader fetches files into DIR, streaming each through gunzip, the line checker and the
// file checksum into a partial file that is fsynced and renamed when whole.
type downloader struct {
	client   Doer
	opts     Options
	dir      string
	log      *exportLog
	journal  *journal
	limits   *limiters
	progress progress.Reporter
	files    *lazyTracker
	wait     *waiter
	batches  *commitBatches
	refresh  func(ctx context.Context, job fileJob) (string, error)
}

func (d *downloader) partPath(name string) string {
	return filepath.Join(stateDir(d.dir), "parts", strings.ReplaceAll(name, "/", "__")+".part")
}

// fetch downloads one file, retrying transient failures (with Range when the server allows it),
// waiting out throttling, and refreshing an expired link once (DL-06, DL-08, DL-09, EC-13..15).
func (d *downloader) fetch(ctx context.Context, job fileJob) (journalEntry, error) {
	p, err := d.openPartial(job)
	if err != nil {
		return journalEntry{}, err
	}
	failures, throttles, refreshed, recounted := 0, 0, false, false
	for {
		entry, err := d.attempt(ctx, job, p)
		var ce *classedError
		switch {
		case err == nil && job.count != nil && *job.count != entry.Resources && !recounted:
			recounted = true // EC-46: the manifest count disagrees; download once more from scratch
			if err := p.reset(); err != nil {
				return journalEntry{}, err
			}
			continue
		case err == nil:
			if job.count != nil && *job.count != entry.Resources {
				d.progress.Warn(fmt.Sprintf("%s from %s has %d resources; the manifest said %d", job.name, redact.URL(job.url), entry.Resources, *job.count))
			}
			return entry, d.commit(job, p, entry)
		case ctx.Err() != nil:
			return journalEntry{}, ctx.Err()
		case !errors.As(err, &ce):
			return journalEntry{}, fmt.Errorf("%w: downloading %s from %s: %w", ErrExportFailed, job.name, redact.URL(job.url), err)
		case errors.Is(err, errExpiredLink) && !refreshed:
			refreshed = true
			if job.url, err = d.refresh(ctx, job); err != nil {
				return journalEntry{}, fmt.Errorf("%w: refreshing the expired link for %s: %w", ErrExportFailed, job.name, err)
			}
			continue
		case errors.Is(err, errThrottled) && throttles < 50:
			// A 429 or 503 is waited out on its own count, so it never lengthens the backoff of
			// an unrelated failure later (issue 13 item 9).
			throttles++
			delay, ok := d.wait.retryAfter(ce.retryAfter)
			if !ok {
				delay = backoff(minRetryDelay, MaxThrottleWait, throttles-1)
			}
			if err := d.wait.sleep(ctx, delay, MaxThrottleWait, "download after a 429"); err != nil {
				return journalEntry{}, err
			}
			continue
		case errors.Is(err, errTransient) || errors.Is(err, errThrottled):
			if failures++; failures >= d.opts.MaxAttempts {
				return journalEntry{}, fmt.Errorf("%w: downloading %s from %s: gave up after %d tries: %w", ErrExportFailed, job.name, redact.URL(job.url), failures, err)
			}
		default:
			return journalEntry{}, fmt.Errorf("%w: downloading %s from %s: %w", ErrExportFailed, job.name, redact.URL(job.url), err)
		}
		delay, ok := d.wait.retryAfter(ce.retryAfter)
		if !ok {
			delay = backoff(minRetryDelay, d.opts.MaxPollInterval, failures-1)
		}
		if err := d.wait.sleep(ctx, delay, d.opts.MaxPollInterval, "download retry"); err != nil {
			return journalEntry{}, err
		}
	}
}

// openPartial picks up a partial file left by an earlier run when it can be continued with Range,
// replaying its bytes through the hash and checker; otherwise it starts empty.
func (d *downloader) openPartial(job fileJob) (*partial, error) {
	p := &partial{path: d.partPath(job.name), meta: partMeta{URLHash: urlHash(job.url)}}
	p.hash, p.checker = newFileChecksum(), newLineChecker(job.want, d.opts.MaxLineBytes)
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(p.path), err)
	}
	var meta partMeta
	b, err := os.ReadFile(p.path + ".json")
	p.saved = err == nil
	if err != nil || json.Unmarshal(b, &meta) != nil || !meta.AcceptRanges || meta.GzipSniffed || (meta.URLHash != urlHash(job.url) && meta.ETag == "") {
		return p, p.reset()
	}
	f, err := os.Open(p.path)
	if err != nil {
		return p, p.reset()
	}
	defer f.Close()
	n, err := io.Copy(io.MultiWriter(p.hash, p.checker), f)
	if err != nil {
		return p, p.reset() // the saved bytes do not check out: start again
	}
	p.meta, p.offset = meta, n
	return p, nil
}

// reset discards partial bytes and state.
func (p *partial) reset() error {
	p.offset = 0
	p.hash.Reset()
	p.checker = newLineChecker(p.checker.want, p.checker.maxLine)
	if p.saved {
		if err := os.Remove(p.path + ".json"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s.json: %w", p.path, err)
		}
		p.saved = false
	}
	return nil // the next stream truncates the file, as it starts at offset 0
}

// request sends the GET for the next attempt: a Range continuation when possible.
func (d *downloader) request(ctx context.Context, job fileJob, p *partial, ranged bool) (*http.Response, error) {
	hdr := http.Header{"Accept": {"application/fhir+ndjson"}, "Accept-Encoding": {"gzip"}}
	if ranged {
		hdr.Set("Range", "bytes="+strconv.FormatInt(p.offset, 10)+"-")
		hdr.Set("Accept-Encoding", "identity") // offsets count decoded bytes
		if p.meta.ETag != "" {
			hdr.Set("If-Range", p.meta.ETag)
		}
	}
	if !job.token {
		ctx = fhir.NoCredentials(ctx) // MF-21, EC-11: capability URLs never see the token
	}
	_ = d.log.fileEvent("download_request", job.url, map[string]any{"itemType": string(job.kind), "resourceType": job.want})
	return send(ctx, d.client, http.MethodGet, job.url, hdr, nil)
}

// attempt performs one GET and streams the body into the partial file.
func (d *downloader) attempt(ctx context.Context, job fileJob, p *partial) (journalEntry, error) {
	u, err := url.Parse(job.url)
	if err != nil {
		return journalEntry{}, fmt.Errorf("bad file url %q: %w", redact.URL(job.url), err)
	}
	lim := d.limits.forHost(u.Host)
	if err := lim.acquire(ctx); err != nil {
		return journalEntry{}, err
	}
	ranged := p.offset > 0 && p.meta.AcceptRanges && !p.meta.GzipSniffed
	resp, err := d.request(ctx, job, p, ranged)
	if err != nil {
		lim.release(false)
		if ctx.Err() != nil {
			return journalEntry{}, ctx.Err() // cancelled, not failed: no download_error (issue 13 item 5)
		}
		_ = d.log.downloadError(job.url, nil, nil, err.Error(), nil)
		if fhir.Unfixable(err) {
			return journalEntry{}, err
		}
		return journalEntry{}, classed(errTransient, nil, "%w", err)
	}
	defer resp.Body.Close()
	throttled := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
	defer func() { lim.release(throttled) }()
	if err := d.checkStatus(job, p, resp, ranged); err != nil {
		return journalEntry{}, err
	}
	return d.stream(ctx, job, p, resp)
}

// checkStatus maps a file response's status to a failure class, or accepts it (200, or 206 that
// continues exactly at the partial's offset).
func (d *downloader) checkStatus(job fileJob, p *partial, resp *http.Response, ranged bool) error {
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent && ranged && strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(p.offset, 10)+"-") && resp.Header.Get("Content-Encoding") == "":
		return nil
	case code == http.StatusOK:
		if err := p.reset(); err != nil {
			return err
		}
		p.meta = partMeta{URLHash: urlHash(job.url), ETag: resp.Header.Get("ETag"), AcceptRanges: resp.Header.Get("Accept-Ranges") == "bytes"}
		return nil
	case code == http.StatusPartialContent:
		p.meta.AcceptRanges = false // an unusable range answer: start over without Range
		return classed(errTransient, nil, "unusable partial response (Content-Range %q)", resp.Header.Get("Content-Range"))
	case code == http.StatusRequestedRangeNotSatisfiable && ranged:
		// The partial file already holds every byte (the run was killed between the last write
		// and the rename) or the file changed: start over without Range.
		p.meta.AcceptRanges = false
		return classed(errTransient, nil, "range not satisfiable (Content-Range %q); downloading the whole file again", resp.Header.Get("Content-Range"))
	}
	body, _ := readBody(resp)
	msg := errorMessage(resp, body)
	_ = d.log.downloadError(job.url, resp.StatusCode, body, msg, resp.Header)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return classed(errExpiredLink, nil, "%s", msg)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return classed(errThrottled, resp.Header, "%s", msg)
	}
	if transientStatus(resp.StatusCode) {
		return classed(errTransient, resp.Header, "%s", msg)
	}
	return fmt.Errorf("unexpected response %s", msg)
}

// stream copies the body (gunzipped when marked or sniffed, DL-02/EC-45) into the partial file.
func (d *downloader) stream(ctx context.Context, job fileJob, p *partial, resp *http.Response) (journalEntry, error) {
	bufs := streamBuffers.Get().(*streamBufs)
	defer streamBuffers.Put(bufs)
	br := bufs.r
	br.Reset(resp.Body)
	defer br.Reset(nil)
	var body io.Reader = br
	gz := strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip")
	if magic, _ := br.Peek(2); !gz && p.offset == 0 && len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, p.meta.GzipSniffed = true, true
	}
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return journalEntry{}, classed(errTransient, nil, "reading gzip body: %w", err)
		}
		body = zr
	}
	flags := os.O_WRONLY | os.O_APPEND
	if p.offset == 0 {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, direct, err := openDirect(p.path, flags, p.offset)
	if err != nil {
		return journalEntry{}, fmt.Errorf("opening %s: %w", p.path, err)
	}
	defer f.Close()
	file := &partFile{f: f, off: p.offset, direct: direct}
	if p.meta.AcceptRanges && !p.meta.GzipSniffed && !p.saved { // only a resumable file needs its state saved
		file.saveAt, file.save = resumeStateAfter, p.saveMeta
	}
	sink := io.MultiWriter(inTurn{p.hash, p.checker}, file)
	n, readErr, writeErr := copyBody(sink, body, bufs.chunk, func(n int) { d.files.get().Add(0, int64(n)) })
	p.offset += n
	var ce *checkError
	switch {
	case errors.As(writeErr, &ce):
		return journalEntry{}, d.contentError(job, p, writeErr)
	case writeErr != nil:
		return journalEntry{}, fmt.Errorf("writing %s: %w", p.path, writeErr)
	case readErr != nil && ctx.Err() != nil:
		return journalEntry{}, ctx.Err()
	case readErr != nil:
		_ = d.log.downloadError(job.url, nil, nil, readErr.Error(), nil)
		return journalEntry{}, classed(errTransient, nil, "reading body after %d bytes: %w", p.offset, readErr)
	}
	if err := p.checker.Close(); err != nil {
		return journalEntry{}, d.contentError(job, p, err)
	}
	return journalEntry{File: job.name, Size: p.offset, CRC32C: hex.EncodeToString(p.hash.Sum(nil)), Resources: p.checker.resources}, nil
}

// inTurn writes to both writers a slice at a time, each slice of about inTurnSlice bytes ending
// at a newline (so the line checker still sees whole lines): the checker reads the bytes the
// checksum has just brought into the core's cache, instead of a whole 1 MiB chunk later.
type inTurn [2]io.Writer

// inTurnSlice is about how many bytes inTurn gives each writer at a time.
const inTurnSlice = 64 << 10

func (w inTurn) Write(p []byte) (int, error) {
	for off := 0; off < len(p); {
		end := len(p)
		if off+inTurnSlice < len(p) {
			if nl := bytes.IndexByte(p[off+inTurnSlice:], '\n'); nl >= 0 {
				end = off + inTurnSlice + nl + 1
			}
		}
		for _, to := range w {
			if n, err := to.Write(p[off:end]); err != nil {
				return off + n, err
			}
		}
		off = end
	}
	return len(p), nil
}

// copyBody streams r into w a buffer at a time: it fills buf from r before each write, so the
// file gets few large writes and the checker and the checksum read each byte while it is still
// in cache (issue 12). progress is told of every write. It returns the bytes written, and r's
// error (none at io.EOF) and w's apart.
func copyBody(w io.Writer, r io.Reader, buf []byte, progress func(int)) (n int64, readErr, writeErr error) {
	for readErr == nil {
		m := 0
		for m < len(buf) && readErr == nil {
			var k int
			k, readErr = r.Read(buf[m:])
			m += k
		}
		if m > 0 {
			if _, writeErr = w.Write(buf[:m]); writeErr != nil {
				return n, nil, writeErr
			}
			n += int64(m)
			progress(m)
		}
	}
	if readErr == io.EOF {
		readErr = nil
	}
	return n, readErr, nil
}

// contentError handles a body that is not the ndjson promised. A first line that is not JSON is
// most often a login or expiry page (EC-44), so it is treated like an expired link once.
func (d *downloader) contentError(job fileJob, p *partial, err error) error {
	_ = d.log.downloadError(job.url, nil, nil, err.Error(), nil)
	first := p.checker.resources == 0 && p.checker.line == 1
	if rerr := p.reset(); rerr != nil {
		return rerr
	}
	if first {
		return classed(errExpiredLink, nil, "%w", err)
	}
	return fmt.Errorf("invalid ndjson: %w", err)
}

// resumeStateAfter is how many bytes a download has before it saves the state a later run
// needs to continue it with Range: a download killed before that starts over, so at most this
// much per download is fetched twice, and the many small files of an export do without a state
// file each (two file creations and a removal per file, issue 12).
const resumeStateAfter = 8 << 20

// saveMeta saves the partial's state beside it, for a later run to continue it with Range.
func (p *partial) saveMeta() error {
	mb, err := json.Marshal(p.meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.path+".json", mb, 0o600); err != nil {
		return fmt.Errorf("saving %s.json: %w", p.path, err)
	}
	p.saved = true
	return nil
}
