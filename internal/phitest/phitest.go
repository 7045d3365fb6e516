// Package phitest finds PHI in FHIR input and looks for it in output, for leak tests: every
// name, address line, city, phone, e-mail, identifier value (SSN, MRN, ...), narrative div and
// Reference display found in the input must appear nowhere in the de-identified output.
package phitest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// minLen is the shortest string treated as PHI: shorter ones (initials, "Mr.") match by chance.
const minLen = 4

// Collection gathers the PHI-shaped strings of many resources (including device serial numbers), and the vocabulary that may
// legitimately leave (Coding displays, CodeableConcept texts, Organization and Location names): a
// Reference display such as "Acute bronchitis (disorder)" is vocabulary, not PHI, and so is a city
// that is part of a hospital's name.
type Collection struct {
	phi        map[string]bool
	vocabulary map[string]bool
}

// NewCollection returns an empty collection.
func NewCollection() *Collection {
	return &Collection{phi: map[string]bool{}, vocabulary: map[string]bool{}}
}

// Add collects from one resource.
func (c *Collection) Add(resource map[string]any) {
	var phi, vocab []string
	walk(resource, "", &phi, &vocab)
	switch resource["resourceType"] {
	case "Device":
		// Serial and lot numbers identify the one device a patient carries (HIPAA Safe Harbor).
		for _, key := range []string{"serialNumber", "lotNumber"} {
			if v, ok := resource[key].(string); ok && len(v) >= minLen {
				phi = append(phi, v)
			}
		}
	case "Organization", "Location", "Practitioner", "PractitionerRole":
		// Provider directory entries: their names and public identifiers (NPI) may leave.
		if name, ok := resource["name"].(string); ok {
			vocab = append(vocab, name)
		}
		for _, id := range asList(resource["identifier"]) {
			if m, ok := id.(map[string]any); ok {
				if v, ok := m["value"].(string); ok {
					vocab = append(vocab, v)
				}
			}
		}
	}
	for _, s := range phi {
		c.phi[s] = true
	}
	for _, s := range vocab {
		c.vocabulary[s] = true
	}
}

// Needles returns the PHI strings that do not occur within the vocabulary, sorted.
func (c *Collection) Needles() []string {
	var vocab strings.Builder
	for s := range c.vocabulary {
		vocab.WriteString(s)
		vocab.WriteByte(0)
	}
	all := vocab.String()
	var out []string
	for s := range c.phi {
		if !strings.Contains(all, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func asList(v any) []any {
	list, _ := v.([]any)
	return list
}

func walk(v any, key string, phi, vocab *[]string) {
	switch x := v.(type) {
	case map[string]any:
		collectFromObject(x, key, phi)
		if key == "coding" {
			if d, ok := x["display"].(string); ok {
				*vocab = append(*vocab, d)
			}
		}
		if _, isCC := x["coding"]; isCC {
			if t, ok := x["text"].(string); ok {
				*vocab = append(*vocab, t)
			}
		}
		for k, child := range x {
			walk(child, k, phi, vocab)
		}
	case []any:
		for _, child := range x {
			walk(child, key, phi, vocab)
		}
	}
}

// collectFromObject takes the PHI fields of one FHIR element, recognised by where it sits.
func collectFromObject(x map[string]any, key string, out *[]string) {
	add := func(vals ...any) {
		for _, v := range vals {
			switch s := v.(type) {
			case string:
				if len(strings.TrimSpace(s)) >= minLen {
					*out = append(*out, s)
				}
			case []any:
				for _, e := range s {
					if str, ok := e.(string); ok && len(str) >= minLen {
						*out = append(*out, str)
					}
				}
			}
		}
	}
	switch key {
	case "name":
		add(x["family"], x["given"], x["text"], x["prefix"], x["suffix"])
	case "address":
		add(x["line"], x["city"], x["text"], x["district"])
	case "telecom":
		add(x["value"])
	case "identifier":
		add(x["value"])
	case "text":
		add(x["div"])
	}
	if _, isRef := x["reference"]; isRef {
		add(x["display"])
	}
}

// AddFile collects from every resource in an ndjson file (gzip or plain).
func (c *Collection) AddFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		r = gz
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	for {
		var res map[string]any
		if err := dec.Decode(&res); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		c.Add(res)
	}
}

// Hit is one PHI string found in an output file.
type Hit struct {
	File   string
	Needle string
}

// Scan looks for every needle in every file under dir and returns the hits, sorted.
func Scan(dir string, needles []string) ([]Hit, error) {
	idx := newIndex(unique(needles))
	var hits []Hit
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range idx.find(data) {
			hits = append(hits, Hit{File: path, Needle: n})
		}
		return nil
	})
	sort.Slice(hits, func(i, j int) bool { return hits[i].File+hits[i].Needle < hits[j].File+hits[j].Needle })
	return hits, err
}

// index finds many needles in one pass: every form of every needle is filed under its first
// minLen bytes, and each position of the data is looked up once.
type index struct {
	byPrefix map[string][]form
}

type form struct {
	bytes  []byte
	needle string
}

func newIndex(needles []string) *index {
	idx := &index{byPrefix: map[string][]form{}}
	for _, n := range needles {
		for _, f := range jsonForms(n) {
			if len(f) >= minLen {
				key := string(f[:minLen])
				idx.byPrefix[key] = append(idx.byPrefix[key], form{bytes: f, needle: n})
			}
		}
	}
	return idx
}

// find returns the needles that occur in data, each once.
func (idx *index) find(data []byte) []string {
	found := map[string]bool{}
	var out []string
	for i := 0; i+minLen <= len(data); i++ {
		for _, f := range idx.byPrefix[string(data[i:i+minLen])] {
			if !found[f.needle] && bytes.HasPrefix(data[i:], f.bytes) {
				found[f.needle] = true
				out = append(out, f.needle)
			}
		}
	}
	return out
}

// jsonForms are the ways a string can look inside a JSON document: raw, escaped, and escaped
// with HTML characters as \u003c and the like.
func jsonForms(s string) [][]byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	plain := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	html, _ := json.Marshal(s)
	return [][]byte{[]byte(s), plain[1 : len(plain)-1], html[1 : len(html)-1]}
}

func unique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
