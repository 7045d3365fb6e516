package fhirtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// resourceStore holds the resources a fake server searches, reads and exports.
type resourceStore struct {
	mu     sync.Mutex
	byType map[string]map[string]stored
}

// stored is one resource: its bytes as given and its decoded fields for matching.
type stored struct {
	raw []byte
	obj map[string]any
}

func newResourceStore() *resourceStore {
	return &resourceStore{byType: map[string]map[string]stored{}}
}

func (st *resourceStore) add(raw []byte) error {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("resource %.80s: %w", raw, err)
	}
	typ, _ := obj["resourceType"].(string)
	id, _ := obj["id"].(string)
	if typ == "" || id == "" {
		return fmt.Errorf("resource %.80s has no resourceType or id", raw)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byType[typ] == nil {
		st.byType[typ] = map[string]stored{}
	}
	st.byType[typ][id] = stored{raw: raw, obj: obj}
	return nil
}

func (st *resourceStore) get(typ, id string) ([]byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.byType[typ][id]
	return r.raw, ok
}

// search returns the resources of typ that m accepts, sorted by id (a stable paging order).
func (st *resourceStore) search(typ string, m matcher) [][]byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := make([]string, 0, len(st.byType[typ]))
	for id, r := range st.byType[typ] {
		if m.matches(r.obj) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = st.byType[typ][id].raw
	}
	return out
}

// types lists the stored resource types, sorted.
func (st *resourceStore) types() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for typ := range st.byType {
		out = append(out, typ)
	}
	slices.Sort(out)
	return out
}

// members returns the patient ids of a stored Group's member[].entity references.
func (st *resourceStore) members(groupID string) ([]string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	g, ok := st.byType["Group"][groupID]
	if !ok {
		return nil, false
	}
	var ids []string
	list, _ := g.obj["member"].([]any)
	for _, m := range list {
		member, _ := m.(map[string]any)
		entity, _ := member["entity"].(map[string]any)
		ref, _ := entity["reference"].(string)
		if id, ok := strings.CutPrefix(ref, "Patient/"); ok {
			ids = append(ids, id)
		}
	}
	return ids, true
}

// matcher is a search's parameters, each a test a resource must pass.
type matcher []func(obj map[string]any) bool

func (m matcher) matches(obj map[string]any) bool {
	for _, test := range m {
		if !test(obj) {
			return false
		}
	}
	return true
}

// createdFields maps each type's creation-date search parameter to its element (as SMART
// Fetch searches them).
var createdFields = map[string]map[string]string{
	"AllergyIntolerance": {"date": "recordedDate"},
	"Condition":          {"recorded-date": "recordedDate"},
	"DiagnosticReport":   {"issued": "issued"},
	"DocumentReference":  {"date": "date"},
	"MedicationRequest":  {"authoredon": "authoredOn"},
	"Observation":        {"issued": "issued"},
	"ServiceRequest":     {"authored": "authoredOn"},
}

// newMatcher turns search parameters into tests. It knows _id, patient, subject, identifier,
// _lastUpdated, category, code, status and the creation dates of createdFields; _count and
// _elements do not filter; anything else is an error.
func newMatcher(typ string, q url.Values) (matcher, error) {
	var m matcher
	for key, values := range q {
		for _, v := range values {
			test, err := paramTest(typ, key, v)
			if err != nil {
				return nil, err
			}
			if test != nil {
				m = append(m, test)
			}
		}
	}
	return m, nil
}

func paramTest(typ, key, v string) (func(map[string]any) bool, error) {
	anyOf := strings.Split(v, ",")
	switch key {
	case "_count", "_elements":
		return nil, nil
	case "_id":
		return func(o map[string]any) bool { return slices.Contains(anyOf, str(o, "id")) }, nil
	case "patient", "subject":
		fields := []string{"subject"}
		if key == "patient" {
			fields = append(fields, "patient")
		}
		return func(o map[string]any) bool { return refersTo(o, fields, anyOf) }, nil
	case "identifier":
		return func(o map[string]any) bool { return hasCoding(o["identifier"], "value", anyOf) }, nil
	case "category", "code":
		return func(o map[string]any) bool { return hasConcept(o[key], anyOf) }, nil
	case "status":
		return func(o map[string]any) bool { return slices.Contains(anyOf, str(o, "status")) }, nil
	case "_lastUpdated":
		return dateTest("meta.lastUpdated", v)
	}
	if field, ok := createdFields[typ][key]; ok {
		return dateTest(field, v)
	}
	return nil, fmt.Errorf("unknown search parameter %q", key)
}

// refersTo reports whether one of fields holds a reference to one of the patients (an id or
// Patient/id).
func refersTo(o map[string]any, fields, patients []string) bool {
	for _, f := range fields {
		m, _ := o[f].(map[string]any)
		ref, _ := m["reference"].(string)
		for _, p := range patients {
			if ref == "Patient/"+strings.TrimPrefix(p, "Patient/") {
				return true
			}
		}
	}
	return false
}

// hasCoding reports whether a list of codings or identifiers has one whose system|value (or
// value alone) is among want; valueKey is "code" or "value".
func hasCoding(list any, valueKey string, want []string) bool {
	items, _ := list.([]any)
	for _, it := range items {
		c, _ := it.(map[string]any)
		sys, val := fmt.Sprint(c["system"]), fmt.Sprint(c[valueKey])
		for _, w := range want {
			if s, v, ok := strings.Cut(w, "|"); ok && s == sys && v == val || !ok && w == val {
				return true
			}
		}
	}
	return false
}

// hasConcept reports whether a CodeableConcept, or a list of them, has a coding in want.
func hasConcept(v any, want []string) bool {
	concepts, ok := v.([]any)
	if !ok {
		concepts = []any{v}
	}
	for _, cc := range concepts {
		m, _ := cc.(map[string]any)
		if hasCoding(m["coding"], "code", want) {
			return true
		}
	}
	return false
}

// dateTest compares the date or instant at path (dots between elements) with a search value
// such as gt2024-01-01T00:00:00Z; a resource without the element does not match.
func dateTest(path, value string) (func(map[string]any) bool, error) {
	prefix := "eq"
	if len(value) > 2 && strings.Trim(value[:2], "abcdefghijklmnopqrstuvwxyz") == "" {
		prefix, value = value[:2], value[2:]
	}
	want, err := parseTime(value)
	if err != nil {
		return nil, fmt.Errorf("bad date %q: %w", value, err)
	}
	return func(o map[string]any) bool {
		var cur any = o
		for _, part := range strings.Split(path, ".") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		s, _ := cur.(string)
		got, err := parseTime(s)
		if err != nil {
			return false
		}
		switch prefix {
		case "gt", "sa":
			return got.After(want)
		case "ge":
			return !got.Before(want)
		case "lt", "eb":
			return got.Before(want)
		case "le":
			return !got.After(want)
		}
		return got.Equal(want)
	}, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a FHIR date or instant")
}

func str(o map[string]any, key string) string {
	s, _ := o[key].(string)
	return s
}
