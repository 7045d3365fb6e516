package crawl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/store"
)

// ErrCohortEmpty means the cohort has no patients at all.
var ErrCohortEmpty = errors.New("the cohort has no patients")

// Cohort says whose resources a crawl gets. One source is given: a Group, ids (a file and/or a
// list, Patient ids or, with IDSystem, identifier values such as MRNs), or an earlier export.
type Cohort struct {
	Group     string   // the Patients of Group/<id>: a bulk export of Patient only, or the Group's members
	IDFile    string   // one id a line, or a CSV with an ID or MRN column
	IDList    []string // comma-separated ids
	IDSystem  string   // the ids are values of Patient.identifier in this system, not Patient ids
	SourceDir string   // the Patients of an earlier export folder
}

// Validate checks that exactly one source is given.
func (c Cohort) Validate() error {
	n := 0
	for _, given := range []bool{c.Group != "", c.IDFile != "" || len(c.IDList) > 0, c.SourceDir != ""} {
		if given {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("a crawl needs a cohort: a Group URL (.../Group/ID), --id-file, --id-list or --source-dir")
	case n > 1:
		return errors.New("give one cohort: a Group URL, --id-file/--id-list, or --source-dir")
	case c.IDSystem != "" && c.IDFile == "" && len(c.IDList) == 0:
		return errors.New("--id-system needs --id-file or --id-list")
	}
	return nil
}

// Name is the cohort's name in the export log (where the ETL's completion tables take the group
// from): the Group id, the id file's name without its extension, or the source folder's name; ""
// for an id list.
func (c Cohort) Name() string {
	switch {
	case c.Group != "":
		return c.Group
	case c.IDFile != "":
		base := filepath.Base(c.IDFile)
		return strings.TrimSuffix(base, filepath.Ext(base))
	case c.SourceDir != "":
		return filepath.Base(filepath.Clean(c.SourceDir))
	}
	return ""
}

// cohort returns the cohort file (the patients' ids, sorted and distinct), building it on the
// first run: a later run crawls the same patients whatever has changed on the server since.
func (r *run) cohort(ctx context.Context) (*sortedFile, error) {
	path := filepath.Join(r.crawlDir, "cohort.txt")
	if _, err := os.Stat(path); err == nil {
		return openSorted(path)
	}
	sorter, err := newLineSorter(filepath.Join(r.crawlDir, "sort"))
	if err != nil {
		return nil, err
	}
	add := func(id string) error { return sorter.add([]byte(id)) }
	c := r.opts.Cohort
	switch {
	case c.IDSystem != "":
		err = r.resolveIdentifiers(ctx, add)
	case c.IDFile != "" || len(c.IDList) > 0:
		if err = readIDList(c.IDList, false, add); err == nil && c.IDFile != "" {
			err = readIDFile(c.IDFile, false, add)
		}
	case c.SourceDir != "":
		err = patientsOf(ctx, c.SourceDir, add)
	default:
		err = r.groupPatients(ctx, add)
	}
	if err != nil {
		return nil, err
	}
	sf, err := writeSorted(sorter, path)
	if err != nil {
		return nil, err
	}
	if sf.n == 0 {
		sf.Close()
		_ = os.Remove(path) // a rerun looks again (the Group may have members by then)
		return nil, fmt.Errorf("%w (%s)", ErrCohortEmpty, r.cohortSource())
	}
	_ = os.RemoveAll(filepath.Join(r.crawlDir, "cohort-export")) // the Patients of a Group export: PHI not needed any more
	return sf, nil
}

func (r *run) cohortSource() string {
	c := r.opts.Cohort
	switch {
	case c.Group != "":
		return "Group/" + c.Group
	case c.IDFile != "":
		return c.IDFile
	case c.SourceDir != "":
		return "the Patients of " + c.SourceDir
	}
	return "--id-list"
}

// groupPatients adds the members of the Group: through a bulk export of its Patients when the
// server offers Group $export, else by reading the Group and its member list.
func (r *run) groupPatients(ctx context.Context, add func(string) error) error {
	caps := r.opts.Client.Capabilities()
	group := r.opts.Cohort.Group
	if !slices.Contains(caps.Operations["Group"], "export") {
		r.progress.Info("The cohort: the members of Group/" + group + " (the server offers no Group $export)")
		return r.groupMembers(ctx, group, add)
	}
	r.progress.Info("The cohort: the Patients of Group/" + group + ", by a bulk export of Patient only")
	dir := filepath.Join(r.crawlDir, "cohort-export")
	var filters []string
	for _, q := range r.opts.Filters["Patient"] {
		filters = append(filters, "Patient?"+q)
	}
	_, err := bulk.Export(ctx, r.opts.Client, bulk.Options{URL: r.opts.Client.BaseURL().String() + "Group/" + url.PathEscape(group),
		Dir: dir, Types: []string{"Patient"}, TypeFilters: filters, Progress: r.progress, ClientVersion: r.opts.ClientVersion})
	if err != nil {
		return fmt.Errorf("getting the cohort of Group/%s: %w", group, err)
	}
	return patientsOf(ctx, dir, add)
}

// groupMembers reads Group/id and adds the Patient ids of its active members, streaming the
// member list (a Group can list a million patients).
func (r *run) groupMembers(ctx context.Context, group string, add func(string) error) error {
	target := "Group/" + url.PathEscape(group)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("reading %s: %w", target, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	inactive := 0
	err = eachInArray(dec, "member", func() error {
		var m struct {
			Entity   reference `json:"entity"`
			Inactive bool      `json:"inactive"`
		}
		if err := dec.Decode(&m); err != nil {
			return err
		}
		switch id := m.Entity.patientID(); {
		case m.Inactive:
			inactive++
		case id != "":
			return add(id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the members of %s: %w", target, err)
	}
	if inactive > 0 {
		r.progress.Info(fmt.Sprintf("Left out %d inactive members of %s", inactive, target))
	}
	return nil
}

// eachInArray walks a JSON object to its top-level array key and calls fn for each element
// (fn decodes it from dec).
func eachInArray(dec *json.Decoder, key string, fn func() error) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object (%v)", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != key {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return fmt.Errorf("%s is not a list (%v)", key, err)
		}
		for dec.More() {
			if err := fn(); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	return nil
}

// patientsOf adds the id of every Patient in an export folder's Patient files.
func patientsOf(ctx context.Context, dir string, add func(string) error) error {
	exp, err := input.Scan(ctx, store.NewLocal(dir, store.Options{Private: true}))
	if err != nil {
		return fmt.Errorf("reading the Patients of %s: %w", dir, err)
	}
	for _, f := range exp.Resources["Patient"] {
		rd, err := f.Open(ctx)
		if err != nil {
			return err
		}
		for rd.Next() {
			var p struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(rd.Line(), &p); err != nil || !fhirID.MatchString(p.ID) {
				rd.Close()
				return rd.Errorf("%w: not a Patient with an id", ErrBadIDs)
			}
			if err := add(p.ID); err != nil {
				rd.Close()
				return err
			}
		}
		if err := errors.Join(rd.Err(), rd.Close()); err != nil {
			return err
		}
	}
	return nil
}
