package fhirtest

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// binary is a note served at Binary/{id}.
type binary struct {
	contentType string
	body        []byte
}

// AddBinary serves body at Binary/{id} (relative to the base) the way EHRs serve notes: asked
// with an Accept naming its media type (or */* or none), it answers the bytes with contentType
// (which may carry a charset); asked for application/fhir+json, a Binary resource with the
// bytes in base64 data; asked for anything else, 406. Unknown ids get 404. Like every FHIR
// route it needs a token unless WithoutAuth was given.
func (s *Server) AddBinary(id, contentType string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.binaries == nil {
		s.binaries = map[string]binary{}
		s.mux.HandleFunc("GET /fhir/Binary/{id}", s.requireToken(s.serveBinary))
	}
	s.binaries[id] = binary{contentType: contentType, body: body}
}

func (s *Server) serveBinary(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, ok := s.binaries[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		Outcome(http.StatusNotFound, "not-found", "Binary not found")(w, r)
		return
	}
	mediaType, _, _ := strings.Cut(b.contentType, ";")
	switch accept := r.Header.Get("Accept"); {
	case accept == "" || accept == "*/*" || strings.Contains(accept, mediaType):
		w.Header().Set("Content-Type", b.contentType)
		_, _ = w.Write(b.body)
	case strings.Contains(accept, "application/fhir+json"):
		writeJSON(w, http.StatusOK, map[string]any{"resourceType": "Binary", "contentType": b.contentType,
			"data": base64.StdEncoding.EncodeToString(b.body)})
	default:
		Outcome(http.StatusNotAcceptable, "not-supported", "cannot serve "+accept)(w, r)
	}
}

// Answer replies 200 with body and the given Content-Type, as a server that ignores what was
// asked for does (Oracle Health has answered a note request with an OperationOutcome).
func Answer(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	}
}

// Slow waits d (or until the client gives up) and then answers with next, as an overloaded
// server does.
func Slow(d time.Duration, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
			next(w, r)
		case <-r.Context().Done():
		}
	}
}

// Hang never answers: it waits until the client gives up.
func Hang() http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
}
