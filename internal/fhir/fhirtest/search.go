package fhirtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// SearchType is one resource type the fake serves searches for, with the search parameters its
// CapabilityStatement lists. When Params is not empty the server accepts only those (plus the
// result parameters _count and _elements) and answers any other with 400, as Epic does.
type SearchType struct {
	Type   string
	Params []string // e.g. "patient", "subject", "_id", "_lastUpdated", "category", "issued"
}

// searchData is what the search and export routes serve, and their faults and records (guarded
// by Server.mu, but for the counters).
type searchData struct {
	store    *resourceStore
	failing  map[string]http.HandlerFunc // by "Type?patient id"
	queries  map[string][]url.Values     // first-page search queries by resource type
	extra    map[string][]any            // entries added to first pages, by resource type
	searches map[string]*atomic.Int64    // requests by resource type
	inFlight atomic.Int64
	exports  []*exportJob
}

// searchConfig is how searches behave (see the With... options).
type searchConfig struct {
	types        []SearchType
	noExport     bool // Group lists no $export (a crawl must read its members)
	maxInFlight  int  // >0: more concurrent searches than this are answered 429
	maxCount     int  // the largest page; default 50
	defaultCount int  // the page size without _count; default 10
	delay        time.Duration
}

// WithSearchTypes makes the CapabilityStatement list these resource types with their search
// parameters (and Patient and Group with $export) instead of the default three types.
func WithSearchTypes(types ...SearchType) Option {
	return func(c *config) { c.search.types = types }
}

// WithPublisher sets CapabilityStatement.publisher ("Cerner" marks Oracle Health).
func WithPublisher(name string) Option { return func(c *config) { c.publisher = name } }

// WithoutGroupExport leaves $export out of the CapabilityStatement and answers a Group export
// with 404, so a cohort must come from reading the Group.
func WithoutGroupExport() Option { return func(c *config) { c.search.noExport = true } }

// WithMaxInFlight answers 429 with Retry-After: 1 to every search or page beyond n at once, as a
// rate-limited EHR does.
func WithMaxInFlight(n int) Option { return func(c *config) { c.search.maxInFlight = n } }

// WithPageSizes sets the page size used without _count and the largest page, whatever _count asks.
func WithPageSizes(defaultCount, maxCount int) Option {
	return func(c *config) { c.search.defaultCount, c.search.maxCount = defaultCount, maxCount }
}

// WithSearchDelay makes every search page take d, as a loaded EHR does (crash tests kill a crawl
// in the middle).
func WithSearchDelay(d time.Duration) Option { return func(c *config) { c.search.delay = d } }

// capabilityResources lists rest.resource for the CapabilityStatement.
func (s *Server) capabilityResources() []any {
	if len(s.cfg.search.types) == 0 {
		return s.resources()
	}
	export := []any{map[string]any{"name": "export"}}
	var out []any
	listed := map[string]bool{}
	for _, st := range s.cfg.search.types {
		params := make([]any, len(st.Params))
		for i, p := range st.Params {
			params[i] = map[string]any{"name": p, "type": "token"}
		}
		res := map[string]any{"type": st.Type, "searchParam": params,
			"interaction": []any{map[string]any{"code": "read"}, map[string]any{"code": "search-type"}}}
		if (st.Type == "Patient" || st.Type == "Group") && !s.cfg.search.noExport {
			res["operation"] = export
		}
		out = append(out, res)
		listed[st.Type] = true
	}
	if !listed["Group"] {
		group := map[string]any{"type": "Group", "interaction": []any{map[string]any{"code": "read"}}}
		if !s.cfg.search.noExport {
			group["operation"] = export
		}
		out = append(out, group)
	}
	return out
}

// AddResources stores resources (JSON objects with resourceType and id) that the server then
// reads (GET Type/id), searches (GET Type?...) and exports (Group/ID/$export, of the Group's
// members). A stored resource with the same type and id is replaced. Searches page through
// next links on another path (?_getpages=...), as HAPI does.
func (s *Server) AddResources(tb testing.TB, resources ...[]byte) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.store == nil {
		s.data.store = newResourceStore()
		s.mux.HandleFunc("GET /fhir/{type}", s.requireToken(s.search))
		s.mux.HandleFunc("GET /fhir/{type}/{id}", s.requireToken(s.read))
		s.mux.HandleFunc("GET /fhir/{$}", s.requireToken(s.page))
		s.handleExport()
	}
	for _, raw := range resources {
		if err := s.data.store.add(raw); err != nil {
			tb.Fatalf("fhirtest: %v", err)
		}
	}
}

// FailSearch answers every search of resourceType ("" for any type) for patient id (patient=,
// subject= or _id=) with h, until called again with a nil h: a search that fails for one patient
// whatever the retries.
func (s *Server) FailSearch(resourceType, id string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.failing == nil {
		s.data.failing = map[string]http.HandlerFunc{}
	}
	key := resourceType + "?" + id
	if h == nil {
		delete(s.data.failing, key)
		return
	}
	s.data.failing[key] = h
}

// AddSearchOutcome adds an OperationOutcome entry (search.mode outcome) with one issue of this
// severity and code to the first page of every search of resourceType, as Epic does to say a
// search was narrowed.
func (s *Server) AddSearchOutcome(resourceType, severity, code string) {
	oo, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{"severity": severity, "code": code, "diagnostics": "narrowed for " + resourceType}}})
	s.AddSearchEntry(resourceType, "outcome", oo)
}

// AddSearchEntry adds resource, with search.mode mode, to the first page of every search of
// resourceType, whatever the search asks: a resource the server sends along (an include, one
// shared by several patients).
func (s *Server) AddSearchEntry(resourceType, mode string, resource []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.extra == nil {
		s.data.extra = map[string][]any{}
	}
	s.data.extra[resourceType] = append(s.data.extra[resourceType],
		map[string]any{"resource": json.RawMessage(resource), "search": map[string]any{"mode": mode}})
}

// Searches counts the search requests of resourceType, pages after the first included.
func (s *Server) Searches(resourceType string) int {
	return int(s.searchCount(resourceType).Load())
}

// SearchQueries returns the query of every first-page search of resourceType, in order.
func (s *Server) SearchQueries(resourceType string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.data.queries[resourceType])
}

func (s *Server) searchCount(resourceType string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.searches == nil {
		s.data.searches = map[string]*atomic.Int64{}
	}
	c := s.data.searches[resourceType]
	if c == nil {
		c = &atomic.Int64{}
		s.data.searches[resourceType] = c
	}
	return c
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.data.store.get(r.PathValue("type"), r.PathValue("id"))
	if !ok {
		Outcome(http.StatusNotFound, "not-found", "no such resource")(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	_, _ = w.Write(raw)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	s.mu.Lock()
	if s.data.queries == nil {
		s.data.queries = map[string][]url.Values{}
	}
	s.data.queries[typ] = append(s.data.queries[typ], r.URL.Query())
	s.mu.Unlock()
	s.servePage(w, r, typ, r.URL.Query(), 0)
}

// page serves a next link: [base]?_getpages=TYPE&_getpagesoffset=N&... with the search's own
// parameters carried in the query.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ, offset := q.Get("_getpages"), q.Get("_getpagesoffset")
	n, err := strconv.Atoi(offset)
	if typ == "" || err != nil || n < 0 {
		Outcome(http.StatusBadRequest, "invalid", "bad page link")(w, r)
		return
	}
	q.Del("_getpages")
	q.Del("_getpagesoffset")
	s.servePage(w, r, typ, q, n)
}

// servePage answers one page of a search of typ with params q, from offset on.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, typ string, q url.Values, offset int) {
	s.searchCount(typ).Add(1)
	if n := s.cfg.search.maxInFlight; n > 0 {
		if s.data.inFlight.Add(1) > int64(n) {
			s.data.inFlight.Add(-1)
			RetryAfter(http.StatusTooManyRequests, "1")(w, r)
			return
		}
		defer s.data.inFlight.Add(-1)
	}
	if d := s.cfg.search.delay; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if h := s.failureFor(typ, q); h != nil {
		h(w, r)
		return
	}
	if bad := s.unsupported(typ, q); bad != "" {
		Outcome(http.StatusBadRequest, "not-supported", "The search parameter "+bad+" is not supported")(w, r)
		return
	}
	m, err := newMatcher(typ, q)
	if err != nil {
		Outcome(http.StatusBadRequest, "invalid", err.Error())(w, r)
		return
	}
	size := s.pageSize(q.Get("_count"))
	matches := s.data.store.search(typ, m)
	end := min(len(matches), offset+size)
	var entries []any
	if offset == 0 {
		s.mu.Lock()
		entries = append(entries, s.data.extra[typ]...)
		s.mu.Unlock()
	}
	for _, raw := range matches[min(offset, end):end] {
		entries = append(entries, map[string]any{"resource": json.RawMessage(raw), "search": map[string]any{"mode": "match"}})
	}
	links := []any{map[string]any{"relation": "self", "url": s.BaseURL + typ + "?" + q.Encode()}}
	if end < len(matches) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("_getpages", typ)
		next.Set("_getpagesoffset", strconv.Itoa(end))
		links = append(links, map[string]any{"relation": "next", "url": s.BaseURL + "?" + next.Encode()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "searchset",
		"total": len(matches), "link": links, "entry": entries})
}

// failureFor returns the handler of a failing search of typ for a patient q names, if any.
func (s *Server) failureFor(typ string, q url.Values) http.HandlerFunc {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []string{"patient", "subject", "_id"} {
		for _, v := range q[p] {
			id := strings.TrimPrefix(v, "Patient/")
			if h := s.data.failing[typ+"?"+id]; h != nil {
				return h
			}
			if h := s.data.failing["?"+id]; h != nil {
				return h
			}
		}
	}
	return nil
}

// unsupported returns the first parameter of q the CapabilityStatement does not list for typ.
func (s *Server) unsupported(typ string, q url.Values) string {
	for _, st := range s.cfg.search.types {
		if st.Type != typ || len(st.Params) == 0 {
			continue
		}
		for k := range q {
			name, _, _ := strings.Cut(k, ":")
			if name != "_count" && name != "_elements" && !slices.Contains(st.Params, name) {
				return k
			}
		}
	}
	return ""
}

func (s *Server) pageSize(count string) int {
	size, maxCount := s.cfg.search.defaultCount, s.cfg.search.maxCount
	if size <= 0 {
		size = 10
	}
	if maxCount <= 0 {
		maxCount = 50
	}
	if n, err := strconv.Atoi(count); err == nil && n > 0 {
		size = n
	}
	return min(size, maxCount)
}
