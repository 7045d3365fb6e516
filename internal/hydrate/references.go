package hydrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/progress"
	"cumulus-etl/internal/store"
)

// maxResourceSize caps one downloaded resource.
const maxResourceSize = 16 << 20

// referenceTask downloads the resources of one type that other exported resources reference
// but the folder lacks, into DIR/<Target>.hydrated.ndjson. A task for Practitioner, Location or
// Organization is another value of this type: the target and where the references are.
type referenceTask struct {
	taskName string
	target   string              // resource type to fetch
	sources  map[string][]string // resource type → gjson paths of its references to target
}

var medicationTask = referenceTask{taskName: TaskMedication, target: "Medication", sources: map[string][]string{
	"MedicationRequest":  {"medicationReference.reference"},
	"MedicationDispense": {"medicationReference.reference"},
}}

func (t referenceTask) name() string { return t.taskName }

// wanted is one missing resource: how to ask for it, and where it was first referenced.
type wanted struct {
	id, url, where string
}

// run finds the missing resources, downloads them into a journal (so a killed run keeps them)
// and then writes the hydrated file atomically: the resources it held plus the new ones.
// Memory: the ids of the target type in the folder and the missing ones (about 100 bytes each;
// a formulary has tens of thousands), never the resources.
func (t referenceTask) run(ctx context.Context, r *runner, exp *input.Export) error {
	outPath := filepath.Join(r.opts.Dir, t.target+".hydrated.ndjson")
	j, err := openJournal(filepath.Join(r.opts.Dir, stateDirName, t.target+".journal"))
	if err != nil {
		return err
	}
	known, err := idsIn(exp.Resources[t.target])
	if err != nil {
		_ = j.close(false)
		return err
	}
	j.keys(func(id string) { known[id] = true })
	missing, err := t.missing(r, exp, known)
	if err != nil {
		_ = j.close(false)
		return err
	}
	if err := r.fetchAll(ctx, t.target, missing, j); err != nil {
		_ = j.close(false)
		return err
	}
	if err := r.lock.Err(); err != nil {
		_ = j.close(false)
		return err
	}
	if j.len() > 0 {
		if err := publish(outPath, j); err != nil {
			_ = j.close(false)
			return err
		}
	}
	return j.close(true)
}

// idsIn returns the ids of the resources in files.
func idsIn(files []input.File) (map[string]bool, error) {
	ids := map[string]bool{}
	for _, f := range files {
		rd, err := ndjson.Open(f.Path)
		if err != nil {
			return nil, err
		}
		for rd.Next() {
			if id := gjson.GetBytes(rd.Line(), "id").String(); id != "" {
				ids[id] = true
			}
		}
		err = rd.Err()
		rd.Close()
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// missing lists the referenced resources that are not known, each once, in the order first met.
func (t referenceTask) missing(r *runner, exp *input.Export, known map[string]bool) ([]wanted, error) {
	var out []wanted
	seen := map[string]bool{}
	for _, typ := range slices.Sorted(maps.Keys(t.sources)) {
		for _, f := range exp.Resources[typ] {
			rd, err := ndjson.Open(f.Path)
			if err != nil {
				return nil, err
			}
			for rd.Next() {
				for _, path := range t.sources[typ] {
					for _, ref := range gjson.GetBytes(rd.Line(), path).Array() {
						id, u, ok := t.resolve(ref.String())
						if !ok || seen[id] {
							continue
						}
						seen[id] = true
						if known[id] {
							r.stats.AlreadyDone.Add(1)
							continue
						}
						out = append(out, wanted{id: id, url: u, where: fmt.Sprintf("%s:%d %s", r.relPath(f.Path), rd.LineNumber(), path)})
					}
				}
			}
			err = rd.Err()
			rd.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// resolve turns a reference into the target's id and the URL to fetch it from: "Medication/1",
// "Medication/1/_history/2" (the current version is fetched: the export may hold older
// references), or an absolute URL (fetched there; credentials go only to the FHIR server).
// Contained ("#m1"), urn: and other types' references are not fetchable.
func (t referenceTask) resolve(ref string) (id, fetch string, ok bool) {
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return "", "", false
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if i := slices.Index(parts, "_history"); i >= 0 {
		parts = parts[:i]
	}
	if len(parts) < 2 || parts[len(parts)-2] != t.target || parts[len(parts)-1] == "" {
		return "", "", false
	}
	id = parts[len(parts)-1]
	if !u.IsAbs() {
		return id, t.target + "/" + url.PathEscape(id), true
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/" + strings.Join(parts, "/")}
	return id, clean.String(), true
}

// fetchAll downloads the wanted resources into the journal, with the adaptive concurrency.
func (r *runner) fetchAll(ctx context.Context, target string, want []wanted, j *journal) error {
	r.track = r.opts.Progress.Track(r.stats.Task, progress.Totals{Unit: "resources", Items: int64(len(want))})
	g, ctx := errgroup.WithContext(ctx)
	work := make(chan wanted)
	startWorkers(g, r.opts.MaxConcurrency, work, func(w wanted) error { return r.fetchResource(ctx, target, w, j) })
	g.Go(func() error {
		defer close(work)
		for _, w := range want {
			if r.opts.Base == "" && isRelative(w.url) {
				r.stats.Relative.Add(1)
				r.fail(Failure{Where: w.where, URL: redact(w.url), Reason: ErrRelativeURL.Error()})
				continue
			}
			select {
			case work <- w:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

// fetchResource downloads one resource and journals it; a failure is reported, not returned,
// unless it is fatal (credentials) or ctx ended.
func (r *runner) fetchResource(ctx context.Context, target string, w wanted, j *journal) error {
	d, err := r.get(ctx, w.url, "application/fhir+json", maxResourceSize, "application/json")
	if err == nil {
		err = checkResource(d.body, target, w.id)
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case fhir.Unfixable(err):
		return err
	default:
		r.fail(Failure{Where: w.where, URL: redact(w.url), Reason: reason(err)})
		return nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, d.body); err != nil {
		return fmt.Errorf("%s: %w", redact(w.url), err)
	}
	r.stats.Bytes.Add(int64(len(d.body)))
	r.stats.Inlined.Add(1)
	r.track.Add(1, 0)
	return j.add(journalEntry{Key: w.id, Body: compact.Bytes()})
}

// checkResource accepts a JSON object of the target type with the id asked for.
func checkResource(body []byte, target, id string) error {
	if !gjson.ValidBytes(body) {
		return fmt.Errorf("the answer is not JSON")
	}
	res := gjson.ParseBytes(body)
	if rt := res.Get("resourceType").String(); rt != target {
		return fmt.Errorf("the answer is a %q, not a %s", rt, target)
	}
	if got := res.Get("id").String(); got != id {
		return fmt.Errorf("the answer has id %q, not %q", got, id)
	}
	return nil
}

// publish writes path atomically: the lines it held, then every journaled resource.
func publish(path string, j *journal) error {
	out, err := store.CreateAtomic(path, 0o600)
	if err != nil {
		return err
	}
	defer out.Abort()
	if rd, err := ndjson.Open(path); err == nil {
		for rd.Next() {
			if _, err := out.Write(append(rd.Line(), '\n')); err != nil {
				rd.Close()
				return err
			}
		}
		err = rd.Err()
		rd.Close()
		if err != nil {
			return err
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	var keys []string
	j.keys(func(k string) { keys = append(keys, k) })
	slices.Sort(keys)
	for _, k := range keys {
		e, err := j.get(k)
		if err != nil {
			return err
		}
		if _, err := out.Write(append(e.Body, '\n')); err != nil {
			return err
		}
	}
	return out.Commit()
}
