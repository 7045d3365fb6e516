package crawl

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"cumulus-etl/internal/fhir"
)

// ErrBadFilter means a --type-filter is not of the form Type?query.
var ErrBadFilter = errors.New("unusable --type-filter")

// Filters is what to ask the server for, by resource type: search queries ("category=laboratory")
// of which a resource must match one. A bulk export sends them as _typeFilter values; a crawl runs
// one search per query.
type Filters map[string][]string

// ParseTypeFilters reads --type-filter values of the form Type?query.
func ParseTypeFilters(values []string) (Filters, error) {
	f := Filters{}
	for _, v := range values {
		typ, query, ok := strings.Cut(v, "?")
		if !ok || typ == "" || query == "" {
			return nil, fmt.Errorf("%w: %q is not of the form Type?query (such as Observation?category=laboratory)", ErrBadFilter, v)
		}
		if _, err := url.ParseQuery(query); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadFilter, v, err)
		}
		if !slices.Contains(f[typ], query) {
			f[typ] = append(f[typ], query)
		}
	}
	return f, nil
}

// ObservationCategories are the US Core Observation categories SMART Fetch exports by default;
// Epic refuses the last three, so they are left out for Epic.
var ObservationCategories = []string{"social-history", "vital-signs", "imaging", "laboratory", "survey", "exam",
	"procedure", "therapy", "activity"}

// WithDefaultObservationFilter returns f plus SMART Fetch's default Observation filter (the
// standard categories) when Observation is among types and f has no Observation filter of its own.
func (f Filters) WithDefaultObservationFilter(types []string, caps fhir.Capabilities) Filters {
	if !slices.Contains(types, "Observation") || len(f["Observation"]) > 0 {
		return f
	}
	cats := ObservationCategories
	if caps.IsEpic() {
		cats = cats[:6]
	}
	out := f.clone()
	out["Observation"] = []string{"category=" + strings.Join(cats, ",")}
	return out
}

// WithSince returns f with each type's since query (SinceQuery) added to every one of its
// queries, or as its only query: how a bulk export in created mode emulates _since.
func (f Filters) WithSince(types []string, w Window, caps fhir.Capabilities) Filters {
	out := f.clone()
	for _, typ := range types {
		q := w.query(typ, caps)
		if q == "" {
			continue
		}
		if len(out[typ]) == 0 {
			out[typ] = []string{q}
			continue
		}
		for i := range out[typ] {
			out[typ][i] += "&" + q
		}
	}
	return out
}

// TypeFilterValues renders f as _typeFilter values (Type?query), types sorted.
func (f Filters) TypeFilterValues() []string {
	var out []string
	for _, typ := range sortedKeys(f) {
		for _, q := range f[typ] {
			out = append(out, typ+"?"+q)
		}
	}
	return out
}

func (f Filters) clone() Filters {
	out := Filters{}
	for k, v := range f {
		out[k] = slices.Clone(v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SinceMode says what a time window applies to.
type SinceMode string

// The since modes.
const (
	// SinceUpdated compares with meta.lastUpdated (_since in a bulk export, _lastUpdated in a crawl).
	SinceUpdated SinceMode = "updated"
	// SinceCreated compares with each type's creation date (CreatedSearchParams), for servers
	// without _lastUpdated (Epic); types without one are exported whole.
	SinceCreated SinceMode = "created"
)

// CreatedSearchParams are the search parameters for "when was this record created" (an
// administrative date, not the clinical one), by type, as SMART Fetch searches them. Device,
// Encounter, EpisodeOfCare, Immunization, MedicationDispense, Patient and Procedure have none:
// in created mode they are exported whole every time.
var CreatedSearchParams = map[string]string{
	"AllergyIntolerance": "date",          // recordedDate
	"Condition":          "recorded-date", // recordedDate
	"DiagnosticReport":   "issued",        // issued
	"DocumentReference":  "date",          // date
	"MedicationRequest":  "authoredon",    // authoredOn
	"Observation":        "issued",        // issued (not searchable in R4, but Epic allows it)
	"ServiceRequest":     "authored",      // authoredOn
}

// ChooseSinceMode resolves --since-mode: "updated" or "created" as given; "auto" (or "") is
// created for Epic, and for a crawl (bulk false) on a server whose CapabilityStatement lists
// Patient's search parameters without _lastUpdated; updated otherwise: a bulk export's _since is
// a kick-off parameter every Bulk Data server supports (KO-11), whatever its search parameters.
// why says what decided.
func ChooseSinceMode(requested string, caps fhir.Capabilities, bulk bool) (mode SinceMode, why string, err error) {
	switch requested {
	case string(SinceUpdated), string(SinceCreated):
		return SinceMode(requested), "as asked", nil
	case "", "auto":
	default:
		return "", "", fmt.Errorf("--since-mode %q: use auto, updated or created", requested)
	}
	params, listed := caps.SearchParams["Patient"]
	switch {
	case caps.IsEpic():
		return SinceCreated, "the server is Epic, which cannot search _lastUpdated", nil
	case bulk:
		return SinceUpdated, "a bulk export's _since", nil
	case listed && len(params) > 0 && !slices.Contains(params, "_lastUpdated"):
		return SinceCreated, "the server does not list _lastUpdated among Patient's search parameters", nil
	}
	return SinceUpdated, "the server can search _lastUpdated", nil
}

// Window is the time window of an export: resources changed (or created) after Since and
// before Until, either being empty for no bound.
type Window struct {
	Since, Until string
	Mode         SinceMode
}

// query is the search query that applies the window to typ ("" for none): _lastUpdated=gt...
// in updated mode; in created mode the type's creation-date parameter, when it has one the
// server can search.
func (w Window) query(typ string, caps fhir.Capabilities) string {
	if w.Since == "" && w.Until == "" {
		return ""
	}
	param := "_lastUpdated"
	if w.Mode == SinceCreated {
		param = CreatedSearchParams[typ]
		if listed := caps.SearchParams[typ]; param == "" || len(listed) > 0 && !slices.Contains(listed, param) {
			return ""
		}
	}
	var parts []string
	if w.Since != "" {
		parts = append(parts, param+"=gt"+url.QueryEscape(w.Since))
	}
	if w.Until != "" {
		parts = append(parts, param+"=lt"+url.QueryEscape(w.Until))
	}
	return strings.Join(parts, "&")
}
