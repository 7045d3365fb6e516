package hydrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/notes"
)

// errTooLarge marks a note over the size cap; errWrongType a response of another media type.
var (
	errTooLarge  = errors.New("larger than the size cap")
	errWrongType = errors.New("wrong Content-Type")
)

// download is one GET answered with a body of the media type asked for.
type download struct {
	body    []byte
	charset string // the response's charset, or the one the bytes show
}

// get downloads rawURL (relative ones resolve against the FHIR server) asking for mediaType
// (Accept), within the limiter and the note timeout. It refuses an answer whose media type is
// not mediaType or one of also (servers have answered 2xx with an OperationOutcome) and one
// over max bytes.
func (r *runner) get(ctx context.Context, rawURL, mediaType string, max int64, also ...string) (*download, error) {
	if err := r.limit.Acquire(ctx); err != nil {
		return nil, err
	}
	ok := false
	defer func() { r.limit.Release(ok) }()
	ctx, cancel := context.WithTimeout(ctx, r.opts.NoteTimeout)
	defer cancel()
	ctx = r.limit.Observe(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", mediaType)
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if got := notes.MediaType(resp.Header.Get("Content-Type")); got != mediaType && !slices.Contains(also, got) {
		if got == "" {
			got = "none"
		}
		return nil, fmt.Errorf("%w: asked for %s, the server answered %s", errWrongType, mediaType, got)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: %d bytes (cap %d)", errTooLarge, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, max)
	}
	ok = true
	d := &download{body: body}
	if ct := resp.Header.Get("Content-Type"); notes.IsText(mediaType) || notes.CharsetParam(ct) != "" {
		d.charset = notes.DetectCharset(ct, body) // a PDF or an image has no charset unless the server names one
	}
	return d, nil
}

// reason is the short explanation of a failed download for the report.
func reason(err error) string {
	var herr *fhir.HTTPError
	switch {
	case errors.As(err, &herr):
		return fmt.Sprintf("HTTP %d %s", herr.StatusCode, herr.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return err.Error()
}

// redact shows a URL without credentials (signatures, tokens) for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return fhir.RedactURL(u)
}

// isRelative reports whether a URL needs a base to be fetched.
func isRelative(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && !u.IsAbs() && !strings.HasPrefix(raw, "//")
}
