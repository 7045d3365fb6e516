package crawl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"
)

// resolveIdentifiers finds the Patients whose identifier (IDSystem|value) is each value of the id
// file and list, in parallel, and adds their ids. A value that matches no Patient, or whose
// search fails, is listed in the cohort failures (kept with the cohort: a rerun does not look
// again) and the rest goes on.
func (r *run) resolveIdentifiers(ctx context.Context, add func(string) error) error {
	c := r.opts.Cohort
	values, err := newLineSorter(filepath.Join(r.crawlDir, "sort-identifiers"))
	if err != nil {
		return err
	}
	addValue := func(v string) error { return values.add([]byte(v)) }
	if err := readIDList(c.IDList, true, addValue); err != nil {
		return err
	}
	if c.IDFile != "" {
		if err := readIDFile(c.IDFile, true, addValue); err != nil {
			return err
		}
	}
	failures, err := openFailures(filepath.Join(r.opts.Dir, unresolvedName))
	if err != nil {
		return err
	}
	defer failures.close()
	r.progress.Info("The cohort: the Patients whose identifier in " + c.IDSystem + " is one of the given values")
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan string)
	for range r.workers() {
		g.Go(func() error {
			for v := range work {
				ids, err := r.patientsWithIdentifier(gctx, v)
				if permanent(err) {
					return err
				}
				mu.Lock()
				switch {
				case err != nil:
					err = failures.add("identifier", v, reason(err), err)
				case len(ids) == 0:
					err = failures.add("identifier", v, "no Patient has it", nil)
				}
				for _, id := range ids {
					if err == nil {
						err = add(id)
					}
				}
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		return values.each(true, func(v []byte) error {
			select {
			case work <- string(v):
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if n := failures.count(); n > 0 {
		r.progress.Warn(fmt.Sprintf("%d identifiers found no Patient (%s); they are listed in %s",
			n, failures.summary(), failures.path))
	}
	return nil
}

// patientsWithIdentifier returns the ids of the Patients with identifier system|value (and the
// Patient filters, if any).
func (r *run) patientsWithIdentifier(ctx context.Context, value string) ([]string, error) {
	queries := r.opts.Filters["Patient"]
	if len(queries) == 0 {
		queries = []string{""}
	}
	var ids []string
	for _, q := range queries {
		target := "Patient?identifier=" + url.QueryEscape(r.opts.Cohort.IDSystem+"|"+value)
		if q != "" {
			target += "&" + searchQuery(q)
		}
		err := r.search(ctx, target, func(e entry) error {
			var h header
			if err := json.Unmarshal(e.Resource, &h); err != nil {
				return fmt.Errorf("an entry's resource is not a JSON object: %w", err)
			}
			if h.ResourceType == "Patient" && fhirID.MatchString(h.ID) {
				ids = append(ids, h.ID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}
