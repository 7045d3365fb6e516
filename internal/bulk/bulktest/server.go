// Package bulktest is a fake FHIR Bulk Data server for tests: an httptest server whose
// Script can inject the faults real EHRs produce (checklist section 6): Retry-After dates and
// huge values, 429 storms, 5xx bursts, truncated bodies, resets, expiring links, capability URLs
// on another host that reject Authorization, gzip without a header, relative URLs, paged and
// partial manifests, error and deleted files, and very long lines.
package bulktest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Reply is one scripted HTTP answer.
type Reply struct {
	Status int
	Header map[string]string
	Body   string
}

// Fault is something a file request does instead of answering normally.
type Fault int

// The file faults.
const (
	Normal      Fault = iota
	Truncate          // send half the body under the full Content-Length, then close
	Reset             // send half the body, then abort the connection
	Throttle          // 429 with Retry-After: 1
	Unavail           // 503
	Expired           // 410 Gone (the link must be refreshed)
	Forbidden         // 403, as an expired signed URL does
	HTMLPage          // 200 with an HTML login page
	ServerError       // 500 with no OperationOutcome
)

// File is one file the export produces.
type File struct {
	Kind string // "output" (default), "error" or "deleted"
	Type string // manifest type
	Body []byte // content served (decoded)
	Size int64  // if Body is nil: size of synthetic content, generated when the server starts
}

// Script configures the fake server. The zero value is a well-behaved server.
type Script struct {
	Files           []File
	KickoffReplies  []Reply           // answered before the kick-off succeeds
	StatusReplies   []Reply           // answered by status polls before the manifest
	FileFaults      map[int][]Fault   // per file index, faults for successive requests
	RelativeStatus  bool              // Content-Location without scheme and host
	RelativeFiles   bool              // manifest file URLs relative to the status URL
	PageSize        int               // >0: manifest split into pages linked by next
	Partial         bool              // status polls answer 202 with a partial manifest first (see PartialPolls)
	PartialPolls    int               // with Partial: how many such 202s, the k-th listing the first k files; default 1
	PartialNoWait   bool              // with Partial: the 202s carry no Retry-After (default: Retry-After: 1, as the reference server sends)
	RateLimit       int               // >0: more kick-off and status requests than this in a minute block the client for 5 min (429)
	Now             func() time.Time  // the server's clock for RateLimit (use the client's fake clock); nil: time.Now
	Gzip            bool              // compress when the client accepts gzip
	GzipNoHeader    bool              // always send gzip bytes without Content-Encoding
	NoRanges        bool              // do not advertise or honour Range
	NoToken         bool              // requiresAccessToken: false, files on a second host that rejects Authorization
	SignedURLs      bool              // file URLs carry AWS-style pre-signed parameters (SignedAccessKey, SignedSignature); a 403 echoes them as S3 does
	Token           string            // if set, every FHIR-host request must carry Bearer Token
	TokenLifetime   int               // >0: the token is replaced by Token+"'" after this many requests
	RequirePost     bool              // GET kick-off answers 405
	Counts          map[int]int64     // manifest count overrides by file index
	TransactionTime string            // default 2015-02-07T13:28:17.239+02:00
	ChunkDelay      time.Duration     // pause after every SlowChunk bytes of file body (slow links, crash tests)
	Binaries        map[string]string // notes served as text/plain at /fhir/Binary/{id}, by id
	ResourceTypes   []string          // listed by the CapabilityStatement; a kick-off _type naming another is refused (400), as the reference server does
}

// The credentials inside SignedURLs file URLs: they must appear in no output, log or error.
const (
	SignedAccessKey = "AKIAFAKESIGNEDKEY7"
	SignedSignature = "5ec4e7d1a9b0c2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a697"
)

// signedQuery is the query of a pre-signed S3 GET URL.
const signedQuery = "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + SignedAccessKey + "%2F20300101%2Fus-east-1%2Fs3%2Faws4_request" +
	"&X-Amz-Date=20300101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=" + SignedSignature

// Server is the running fake.
type Server struct {
	*httptest.Server
	Files *httptest.Server // second host for capability URLs (Script.NoToken)
	s     Script

	mu        sync.Mutex
	gen       int // link generation; bumped when a link expires
	requests  map[string]int
	full      map[int]int // full (non-Range) 200 downloads per file
	faultAt   map[int]int
	bodies    []string
	authSeen  map[string]bool
	tokenUses int
	limiter   rateLimiter
}

// New starts a fake server; Close it when done.
func New(s Script) *Server {
	srv := &Server{s: s, requests: map[string]int{}, full: map[int]int{}, faultAt: map[int]int{}, authSeen: map[string]bool{}}
	if s.TransactionTime == "" {
		srv.s.TransactionTime = "2015-02-07T13:28:17.239+02:00"
	}
	if s.Partial && s.PartialPolls <= 0 {
		srv.s.PartialPolls = 1
	}
	srv.limiter.limit = s.RateLimit
	// Synthetic contents are generated once, up front, so the fake spends its CPU on serving (as a
	// real server on another machine would), not on generating the same bytes for every request.
	srv.s.Files = append([]File(nil), s.Files...)
	for i, f := range srv.s.Files {
		if f.Body == nil && f.Size > 0 {
			srv.s.Files[i].Body, _ = io.ReadAll(NewSynthetic(f.Type, f.Size))
		}
	}
	// Both servers are set up before either starts, so handlers see the fields written here.
	srv.Server = httptest.NewUnstartedServer(http.HandlerFunc(srv.serveFHIR))
	srv.Files = httptest.NewUnstartedServer(http.HandlerFunc(srv.serveCapability))
	srv.Server.Start()
	srv.Files.Start()
	return srv
}

// Close stops both hosts.
func (s *Server) Close() {
	s.Server.Close()
	s.Files.Close()
}

// GroupURL is the Group export URL clients are given.
func (s *Server) GroupURL() string { return s.URL + "/fhir/Group/G1" }

func (s *Server) now() time.Time {
	if s.s.Now != nil {
		return s.s.Now()
	}
	return time.Now()
}

func (s *Server) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[key]++
	return s.requests[key]
}

// Requests returns how many requests hit key ("kickoff", "status", "delete", "file/3", ...).
func (s *Server) Requests(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[key]
}

// FullDownloads returns how many times file i was sent whole (status 200).
func (s *Server) FullDownloads(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full[i]
}

// KickoffBodies returns the bodies of POST kick-offs and the query of GET ones.
func (s *Server) KickoffBodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// AuthorizationSeenOnFileHost reports whether any capability-URL request carried Authorization.
func (s *Server) AuthorizationSeenOnFileHost() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authSeen["files"]
}

func (s *Server) serveFHIR(w http.ResponseWriter, r *http.Request) {
	if s.s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.validToken(true) {
		http.Error(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`, http.StatusUnauthorized)
		return
	}
	p := r.URL.Path
	if (strings.HasSuffix(p, "/$export") || p == "/status" && r.Method == http.MethodGet) && s.rateLimited(w) {
		return
	}
	switch {
	case p == "/fhir/metadata":
		s.metadata(w)
	case strings.HasSuffix(p, "/$export"):
		s.kickoff(w, r)
	case p == "/status" && r.Method == http.MethodDelete:
		s.count("delete")
		w.WriteHeader(http.StatusAccepted)
	case p == "/status" || strings.HasPrefix(p, "/page/"):
		s.status(w, r)
	case strings.HasPrefix(p, "/files/"):
		s.file(w, r, strings.TrimPrefix(p, "/files/"))
	case strings.HasPrefix(p, "/fhir/Binary/") && s.s.Binaries[strings.TrimPrefix(p, "/fhir/Binary/")] != "":
		s.count("binary")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, s.s.Binaries[strings.TrimPrefix(p, "/fhir/Binary/")])
	default:
		http.NotFound(w, r)
	}
}

// IssueToken plays the token endpoint: it returns the token the FHIR host accepts now (it
// rotates after TokenLifetime requests).
func (s *Server) IssueToken() string { return s.validToken(false) }

func (s *Server) validToken(use bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if use {
		s.tokenUses++
	}
	if s.s.TokenLifetime > 0 && s.tokenUses > s.s.TokenLifetime {
		return s.s.Token + "'"
	}
	return s.s.Token
}

func (s *Server) serveCapability(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		s.mu.Lock()
		s.authSeen["files"] = true
		s.mu.Unlock()
		http.Error(w, "Only one auth mechanism allowed", http.StatusBadRequest)
		return
	}
	s.file(w, r, strings.TrimPrefix(r.URL.Path, "/cap/"))
}

func writeReply(w http.ResponseWriter, rep Reply) {
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.Status)
	io.WriteString(w, rep.Body)
}

// metadata answers the CapabilityStatement, listing Script.ResourceTypes.
func (s *Server) metadata(w http.ResponseWriter) {
	var resources []map[string]string
	for _, t := range s.s.ResourceTypes {
		resources = append(resources, map[string]string{"type": t})
	}
	cs := map[string]any{"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1",
		"software": map[string]string{"name": "Test", "version": "0.git", "releaseDate": "2024-01-01"}}
	if resources != nil {
		cs["rest"] = []any{map[string]any{"mode": "server", "resource": resources}}
	}
	b, _ := jsonMarshal(cs)
	w.Write(b)
}

// unknownType returns a kick-off _type value the server does not have, or "".
func (s *Server) unknownType(r *http.Request) string {
	if len(s.s.ResourceTypes) == 0 {
		return ""
	}
	for _, v := range r.URL.Query()["_type"] {
		for _, t := range strings.Split(v, ",") {
			if !slices.Contains(s.s.ResourceTypes, t) {
				return t
			}
		}
	}
	return ""
}

func (s *Server) kickoff(w http.ResponseWriter, r *http.Request) {
	n := s.count("kickoff")
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, r.URL.RawQuery+string(body))
	s.mu.Unlock()
	if t := s.unknownType(r); t != "" {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Resources of type %q do not exist on this server"}]}`, t)
		return
	}
	if s.s.RequirePost && r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if n <= len(s.s.KickoffReplies) {
		writeReply(w, s.s.KickoffReplies[n-1])
		return
	}
	loc := s.URL + "/status"
	if s.s.RelativeStatus {
		loc = "/status"
	}
	w.Header().Set("Content-Location", loc)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	page := 0
	if strings.HasPrefix(r.URL.Path, "/page/") {
		page, _ = strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/page/"))
	} else if n := s.count("status"); n <= len(s.s.StatusReplies) {
		writeReply(w, s.s.StatusReplies[n-1])
		return
	} else if k := n - len(s.s.StatusReplies); s.s.Partial && k <= s.s.PartialPolls {
		w.Header().Set("Content-Type", "application/json")
		if !s.s.PartialNoWait {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write(s.manifest(0, k, false))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Expires", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	size := s.s.PageSize
	if size <= 0 {
		size = len(s.s.Files)
	}
	w.Write(s.manifest(page*size, size, (page+1)*size < len(s.s.Files)))
}

// manifest renders files [from, from+n) as one manifest page.
func (s *Server) manifest(from, n int, more bool) []byte {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	arrays := map[string][]map[string]any{"output": {}, "error": {}, "deleted": {}}
	for i := from; i < from+n && i < len(s.s.Files); i++ {
		f := s.s.Files[i]
		kind := f.Kind
		if kind == "" {
			kind = "output"
		}
		u := fmt.Sprintf("%s/files/%d?gen=%d", s.URL, i, gen)
		switch {
		case s.s.NoToken:
			u = fmt.Sprintf("%s/cap/%d?gen=%d", s.Files.URL, i, gen)
		case s.s.RelativeFiles:
			u = fmt.Sprintf("files/%d?gen=%d", i, gen)
		}
		if s.s.SignedURLs {
			u += signedQuery
		}
		item := map[string]any{"type": f.Type, "url": u, "count": lineCount(s.content(i))}
		if c, ok := s.s.Counts[i]; ok {
			item["count"] = c
		}
		arrays[kind] = append(arrays[kind], item)
	}
	m := map[string]any{"transactionTime": s.s.TransactionTime, "request": s.URL + "/fhir/Group/G1/$export",
		"requiresAccessToken": !s.s.NoToken, "output": arrays["output"], "error": arrays["error"],
		"deleted": arrays["deleted"], "extension": map[string]any{"vendor": true}, "futureField": []int{1}}
	if more {
		m["link"] = []map[string]string{{"relation": "next", "url": fmt.Sprintf("%s/page/%d", s.URL, from/n+1)}}
	}
	b, _ := jsonMarshal(m)
	return b
}

// content returns file i's decoded bytes.
func (s *Server) content(i int) []byte {
	return s.s.Files[i].Body
}

func lineCount(b []byte) int {
	return bytes.Count(b, []byte("\n"))
}
