package fhirtest

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// exportJob is one Group export of stored resources, made at kick-off.
type exportJob struct {
	query    url.Values
	manifest map[string]any
	files    map[string][]byte // by file name
}

// handleExport serves a Bulk Data Group export of the stored resources: kick-off at
// Group/ID/$export (_type, _typeFilter with %2C for commas inside a filter, _since), status at
// _export/N (complete at once), files at _export/N/Type.ndjson, DELETE at _export/N.
func (s *Server) handleExport() {
	s.mux.HandleFunc("GET /fhir/Group/{id}/$export", s.requireToken(s.exportKickoff))
	s.mux.HandleFunc("GET /fhir/_export/{n}", s.requireToken(s.exportStatus))
	s.mux.HandleFunc("DELETE /fhir/_export/{n}", s.requireToken(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	s.mux.HandleFunc("GET /fhir/_export/{n}/{file}", s.requireToken(s.exportFile))
}

// ExportRequests returns the query of every Group kick-off, in order.
func (s *Server) ExportRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []url.Values
	for _, j := range s.data.exports {
		out = append(out, j.query)
	}
	return out
}

func (s *Server) exportKickoff(w http.ResponseWriter, r *http.Request) {
	if s.cfg.search.noExport {
		Outcome(http.StatusNotFound, "not-supported", "$export is not supported")(w, r)
		return
	}
	members, ok := s.data.store.members(r.PathValue("id"))
	if !ok {
		Outcome(http.StatusNotFound, "not-found", "no such Group")(w, r)
		return
	}
	q := r.URL.Query()
	types := splitList(q.Get("_type"))
	if len(types) == 0 {
		types = s.data.store.types()
	}
	filters := map[string][]url.Values{}
	for _, f := range splitList(q.Get("_typeFilter")) {
		typ, query, _ := strings.Cut(f, "?")
		vals, err := url.ParseQuery(query)
		if err != nil {
			Outcome(http.StatusBadRequest, "invalid", "bad _typeFilter")(w, r)
			return
		}
		filters[typ] = append(filters[typ], vals)
	}
	job := &exportJob{query: q, files: map[string][]byte{}}
	var output []any
	for _, typ := range types {
		body, err := s.exportType(typ, members, filters[typ], q.Get("_since"))
		if err != nil {
			Outcome(http.StatusBadRequest, "invalid", err.Error())(w, r)
			return
		}
		if len(body) == 0 {
			continue
		}
		name := typ + ".ndjson"
		job.files[name] = body
		output = append(output, map[string]any{"type": typ, "count": bytes.Count(body, []byte("\n")), "url": ""})
	}
	s.mu.Lock()
	n := strconv.Itoa(len(s.data.exports))
	for _, o := range output {
		item := o.(map[string]any)
		item["url"] = s.BaseURL + "_export/" + n + "/" + item["type"].(string) + ".ndjson"
	}
	job.manifest = map[string]any{"transactionTime": s.cfg.now().UTC().Format(time.RFC3339Nano), "request": r.URL.String(),
		"requiresAccessToken": true, "output": output, "error": []any{}}
	s.data.exports = append(s.data.exports, job)
	s.mu.Unlock()
	w.Header().Set("Content-Location", s.BaseURL+"_export/"+n)
	w.WriteHeader(http.StatusAccepted)
}

// exportType returns the ndjson of the members' resources of typ that pass one of filters (all
// when there are none) and were updated after since.
func (s *Server) exportType(typ string, members []string, filters []url.Values, since string) ([]byte, error) {
	compartment := url.Values{"patient": {strings.Join(members, ",")}}
	if typ == "Patient" {
		compartment = url.Values{"_id": {strings.Join(members, ",")}}
	}
	if since != "" {
		compartment.Set("_lastUpdated", "gt"+since)
	}
	if len(filters) == 0 {
		filters = []url.Values{{}}
	}
	seen := map[string]bool{}
	var out bytes.Buffer
	for _, f := range filters {
		q := url.Values{}
		for k, v := range compartment {
			q[k] = v
		}
		for k, v := range f {
			q[k] = append(q[k], v...)
		}
		m, err := newMatcher(typ, q)
		if err != nil {
			return nil, err
		}
		for _, raw := range s.data.store.search(typ, m) {
			if !seen[string(raw)] {
				seen[string(raw)] = true
				out.Write(raw)
				out.WriteByte('\n')
			}
		}
	}
	return out.Bytes(), nil
}

func (s *Server) exportStatus(w http.ResponseWriter, r *http.Request) {
	job := s.exportJob(r.PathValue("n"))
	if job == nil {
		Outcome(http.StatusNotFound, "not-found", "no such export")(w, r)
		return
	}
	writeJSON(w, http.StatusOK, job.manifest)
}

func (s *Server) exportFile(w http.ResponseWriter, r *http.Request) {
	job := s.exportJob(r.PathValue("n"))
	if job == nil || job.files[r.PathValue("file")] == nil {
		Outcome(http.StatusNotFound, "not-found", "no such file")(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	_, _ = w.Write(job.files[r.PathValue("file")])
}

func (s *Server) exportJob(n string) *exportJob {
	i, err := strconv.Atoi(n)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || i < 0 || i >= len(s.data.exports) {
		return nil
	}
	return s.data.exports[i]
}

func splitList(v string) []string {
	return slices.DeleteFunc(strings.Split(v, ","), func(s string) bool { return s == "" })
}
