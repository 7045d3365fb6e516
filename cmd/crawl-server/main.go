// Command crawl-server is a local FHIR server for benchmarks of crawls: it loads an export folder
// (such as gen-sample writes), indexes each resource by the patient it names, and serves
// per-patient searches (GET /fhir/Type?patient=ID, subject=ID, or _id=ID for Patient) in pages of
// _count with next links, Group/G1 listing every Patient, and a CapabilityStatement, over plain
// HTTP on loopback (which cumulus-etl accepts there), until it is killed. Other search
// parameters are ignored. The first line it prints is the FHIR base URL.
//
//	go run ./cmd/crawl-server -in /tmp/export
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crawl-server:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("crawl-server", flag.ContinueOnError)
	in := fs.String("in", "", "export folder to serve (its *.ndjson files)")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("-in is required")
	}
	idx, err := load(*in)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String() + "/fhir/"
	fmt.Fprintln(stdout, base)
	s := &server{idx: idx, base: base}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/metadata", s.metadata)
	mux.HandleFunc("GET /fhir/Group/G1", s.group)
	mux.HandleFunc("GET /fhir/{type}", s.search)
	mux.HandleFunc("GET /fhir/{$}", s.search) // next links
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "%d\n", s.requests.Load()) })
	return http.Serve(ln, mux)
}

// index holds every resource line by type and by the patient it names.
type index struct {
	byPatient map[string]map[string][][]byte // type -> patient id -> lines
	patients  []string
}

func load(dir string) (*index, error) {
	idx := &index{byPatient: map[string]map[string][][]byte{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if err != nil {
		return nil, err
	}
	for _, path := range files {
		if filepath.Base(path) == "log.ndjson" {
			continue
		}
		if err := idx.loadFile(path); err != nil {
			return nil, err
		}
	}
	slices.Sort(idx.patients)
	return idx, nil
}

func (idx *index) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		var h struct {
			ResourceType, ID string
			Subject          struct{ Reference string }
			Patient          struct{ Reference string }
		}
		if err := json.Unmarshal(line, &h); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		owner := h.ID
		if h.ResourceType != "Patient" {
			owner = strings.TrimPrefix(h.Subject.Reference+h.Patient.Reference, "Patient/")
		} else {
			idx.patients = append(idx.patients, h.ID)
		}
		if idx.byPatient[h.ResourceType] == nil {
			idx.byPatient[h.ResourceType] = map[string][][]byte{}
		}
		idx.byPatient[h.ResourceType][owner] = append(idx.byPatient[h.ResourceType][owner], line)
	}
	return sc.Err()
}

type server struct {
	idx      *index
	base     string
	requests atomic.Int64
}

func (s *server) metadata(w http.ResponseWriter, _ *http.Request) {
	var res []any
	for typ := range s.idx.byPatient {
		param := "patient"
		if typ == "Patient" {
			param = "_id"
		}
		res = append(res, map[string]any{"type": typ, "searchParam": []any{map[string]any{"name": param}, map[string]any{"name": "_lastUpdated"}}})
	}
	res = append(res, map[string]any{"type": "Group", "interaction": []any{map[string]any{"code": "read"}}})
	w.Header().Set("Content-Type", "application/fhir+json")
	json.NewEncoder(w).Encode(map[string]any{"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1",
		"software": map[string]any{"name": "crawl-server"}, "rest": []any{map[string]any{"mode": "server", "resource": res}}})
}

func (s *server) group(w http.ResponseWriter, _ *http.Request) {
	members := make([]any, len(s.idx.patients))
	for i, id := range s.idx.patients {
		members[i] = map[string]any{"entity": map[string]any{"reference": "Patient/" + id}}
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	json.NewEncoder(w).Encode(map[string]any{"resourceType": "Group", "id": "G1", "type": "person", "actual": true, "member": members})
}

// search serves one page: the lines of the patient named by patient, subject or _id, from
// _getpagesoffset on, _count of them (default 50), with a next link when more remain.
func (s *server) search(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	q := r.URL.Query()
	typ := r.PathValue("type")
	if typ == "" {
		typ = q.Get("_getpages")
	}
	id := q.Get("patient") + q.Get("subject") + q.Get("_id")
	lines := s.idx.byPatient[typ][strings.TrimPrefix(id, "Patient/")]
	offset, _ := strconv.Atoi(q.Get("_getpagesoffset"))
	count, err := strconv.Atoi(q.Get("_count"))
	if err != nil || count <= 0 {
		count = 50
	}
	end := min(len(lines), offset+count)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"resourceType":"Bundle","type":"searchset","total":%d,"link":[`, len(lines))
	if end < len(lines) {
		next := fmt.Sprintf("%s?_getpages=%s&_getpagesoffset=%d&_count=%d&patient=%s", s.base, typ, end, count, id)
		fmt.Fprintf(&b, `{"relation":"next","url":%q}`, next)
	}
	b.WriteString(`],"entry":[`)
	for i, line := range lines[min(offset, end):end] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"search":{"mode":"match"},"resource":`)
		b.Write(line)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Write(b.Bytes())
}
