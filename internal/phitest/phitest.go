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

// Collect returns the PHI-shaped strings of one resource.
func Collect(resource map[string]any) []string {
	var out []string
	walk(resource, "", &out)
	return out
}

func walk(v any, key string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		collectFromObject(x, key, out)
		for k, child := range x {
			walk(child, k, out)
		}
	case []any:
		for _, child := range x {
			walk(child, key, out)
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

// CollectFile returns the PHI-shaped strings of every resource in an ndjson file (gzip or plain).
func CollectFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = gz
	}
	var out []string
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	for {
		var res map[string]any
		if err := dec.Decode(&res); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out = append(out, Collect(res)...)
	}
}

// Hit is one PHI string found in an output file.
type Hit struct {
	File   string
	Needle string
}

// Scan looks for every needle in every file under dir and returns the hits, sorted.
func Scan(dir string, needles []string) ([]Hit, error) {
	needles = unique(needles)
	var hits []Hit
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			for _, form := range jsonForms(n) {
				if bytes.Contains(data, form) {
					hits = append(hits, Hit{File: path, Needle: n})
					break
				}
			}
		}
		return nil
	})
	sort.Slice(hits, func(i, j int) bool { return hits[i].File+hits[i].Needle < hits[j].File+hits[j].Needle })
	return hits, err
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
