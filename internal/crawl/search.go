package crawl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/redact"
)

// maxPages bounds one search's chain of next links (a server whose links loop).
const maxPages = 100000

// entry is one Bundle entry of a search page.
type entry struct {
	Resource json.RawMessage `json:"resource"`
	Search   struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

// header is the part of a resource a crawl reads: what it is, and whose.
type header struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Subject reference `json:"subject"`
	Patient reference `json:"patient"`
}

type reference struct {
	Reference string `json:"reference"`
}

// patientID returns the id of the Patient a reference names ("Patient/1", an absolute URL, a
// versioned one), or "".
func (r reference) patientID() string {
	ref := r.Reference
	i := strings.LastIndex(ref, "Patient/")
	if i < 0 || (i > 0 && ref[i-1] != '/') {
		return ""
	}
	id, _, _ := strings.Cut(ref[i+len("Patient/"):], "/")
	return id
}

// search runs one search and the pages its next links lead to, calling fn with each entry.
func (r *run) search(ctx context.Context, target string, fn func(entry) error) error {
	seen := map[string]bool{}
	for pages := 0; target != ""; pages++ {
		if pages >= maxPages || seen[target] {
			return fmt.Errorf("the next links of %s loop", redact.URL(target))
		}
		seen[target] = true
		next, err := r.page(ctx, target, fn)
		if err != nil {
			return err
		}
		target = next
	}
	return nil
}

// page fetches one page within the limiter and streams its entries to fn (one resource in
// memory at a time); it returns the next link.
func (r *run) page(ctx context.Context, target string, fn func(entry) error) (string, error) {
	if err := r.limit.Acquire(ctx); err != nil {
		return "", err
	}
	ok := false
	defer func() { r.limit.Release(ok) }()
	req, err := http.NewRequestWithContext(r.limit.Observe(ctx), http.MethodGet, target, nil)
	if err != nil {
		return "", fmt.Errorf("search %s: %w", redact.URL(target), err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	r.requests.Add(1)
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("search %s: unexpected status %s", redact.URL(target), resp.Status)
	}
	next, err := readBundle(resp.Body, fn)
	if err != nil {
		return "", fmt.Errorf("search %s: %w", redact.URL(target), err)
	}
	ok = true
	return next, nil
}

// readBundle streams a searchset Bundle: each entry to fn, and the next link back.
func readBundle(body io.Reader, fn func(entry) error) (next string, err error) {
	dec := json.NewDecoder(body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("the answer is not a JSON object (%v)", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("reading the Bundle: %w", err)
		}
		switch key, _ := tok.(string); key {
		case "resourceType":
			var rt string
			if err := dec.Decode(&rt); err != nil || rt != "Bundle" {
				return "", fmt.Errorf("the answer is a %s, not a Bundle", rt)
			}
		case "entry":
			if err := readEntries(dec, fn); err != nil {
				return "", err
			}
		case "link":
			var links []struct{ Relation, URL string }
			if err := dec.Decode(&links); err != nil {
				return "", fmt.Errorf("reading the Bundle's links: %w", err)
			}
			for _, l := range links {
				if l.Relation == "next" {
					next = l.URL
				}
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", fmt.Errorf("reading the Bundle: %w", err)
			}
		}
	}
	return next, nil
}

func readEntries(dec *json.Decoder, fn func(entry) error) error {
	tok, err := dec.Token()
	if err == nil && tok == nil {
		return nil // "entry": null
	}
	if err != nil || tok != json.Delim('[') {
		return fmt.Errorf("the Bundle's entry is not a list (%v)", err)
	}
	for n := 1; dec.More(); n++ {
		var e entry
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("reading entry %d: %w", n, err)
		}
		if len(e.Resource) == 0 {
			continue // an entry without a resource (a bare fullUrl) carries nothing to keep
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// compactLine returns the resource as one ndjson line in buf (servers may pretty-print).
func compactLine(buf *bytes.Buffer, raw json.RawMessage) ([]byte, error) {
	buf.Reset()
	if err := json.Compact(buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// permanent reports whether err stops the whole crawl instead of failing one patient: no other
// patient can fare better without credentials (fhir.Unfixable, a 401) or once the run is over.
func permanent(err error) bool {
	if fhir.Unfixable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var herr *fhir.HTTPError
	return errors.As(err, &herr) && herr.StatusCode == http.StatusUnauthorized
}

// reason is a failure as it may be printed: the HTTP status or the kind of error, never the
// server's own text (it can quote patient data).
func reason(err error) string {
	var herr *fhir.HTTPError
	var uerr *url.Error
	switch {
	case errors.As(err, &herr):
		return fmt.Sprintf("HTTP %d", herr.StatusCode)
	case errors.As(err, &uerr):
		return "network error"
	}
	return "unusable answer"
}
