package deid

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// syntheaDir finds /work/shared/data/synthea-60 as ../shared next to the module root.
func syntheaDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data", "synthea-60")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("sample data absent: %v", err)
	}
	return data
}

// eachResource decodes every resource of a gzip ndjson file (numbers as json.Number).
func eachResource(t testing.TB, path string, fn func(map[string]any)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var res map[string]any
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		fn(res)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// phiCollector gathers PHI-shaped strings from raw resources, plus strings that legitimately
// leave (code displays, concept texts, organization/location names) so they can be excluded.
type phiCollector struct {
	phi, legit map[string]bool
}

func (c *phiCollector) resource(res map[string]any) {
	rt, _ := res["resourceType"].(string)
	if rt == "Organization" || rt == "Location" {
		c.addStrings(c.legit, res["name"])
	}
	if rt == "Patient" {
		for _, id := range asSlice(res["identifier"]) {
			c.addStrings(c.phi, field(id, "value"))
		}
	}
	if text, ok := res["text"].(map[string]any); ok {
		c.addStrings(c.phi, text["div"])
	}
	c.walk(res, "")
}

func (c *phiCollector) walk(v any, key string) {
	switch t := v.(type) {
	case map[string]any:
		switch key {
		case "name":
			for _, k := range []string{"given", "family", "prefix", "suffix", "text"} {
				c.addStrings(c.phi, t[k])
			}
		case "address", "valueAddress":
			c.addStrings(c.phi, t["line"])
			c.addStrings(c.phi, t["city"])
		case "telecom":
			c.addStrings(c.phi, t["value"])
		}
		if key == "coding" || key == "valueCoding" || key == "class" {
			c.addStrings(c.legit, t["display"])
		}
		if _, isConcept := t["coding"]; isConcept {
			c.addStrings(c.legit, t["text"])
		}
		if _, isRef := t["reference"]; isRef {
			c.addStrings(c.phi, t["display"])
		}
		for k, e := range t {
			c.walk(e, k)
		}
	case []any:
		for _, e := range t {
			c.walk(e, key)
		}
	}
}

func (c *phiCollector) addStrings(set map[string]bool, v any) {
	switch t := v.(type) {
	case string:
		set[t] = true
	case []any:
		for _, e := range t {
			c.addStrings(set, e)
		}
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func field(v any, k string) any { m, _ := v.(map[string]any); return m[k] }

// leafStrings adds every string value in v to set.
func leafStrings(v any, set map[string]bool) {
	switch t := v.(type) {
	case string:
		set[t] = true
	case map[string]any:
		for _, e := range t {
			leafStrings(e, set)
		}
	case []any:
		for _, e := range t {
			leafStrings(e, set)
		}
	}
}

// joined puts a set of strings into one NUL-separated buffer, so each search is one pass.
func joined(set map[string]bool) string {
	var b strings.Builder
	for v := range set {
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String()
}

func TestNoPHILeaksFromSyntheaSample(t *testing.T) {
	dir := syntheaDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample files in %s (%v)", dir, err)
	}
	s := newTestScrubber(t)
	c := &phiCollector{phi: map[string]bool{}, legit: map[string]bool{}}
	output := map[string]bool{}
	scrubbed := 0
	for _, path := range files {
		eachResource(t, path, func(res map[string]any) {
			c.resource(res)
			rt, _ := res["resourceType"].(string)
			if !s.SupportsType(rt) {
				return
			}
			outcome, err := s.Scrub(res)
			if err != nil || outcome != Kept {
				t.Errorf("%s: Scrub(%s) = %v, %v", filepath.Base(path), rt, outcome, err)
				return
			}
			scrubbed++
			leafStrings(res, output)
		})
	}
	haystack, legit := joined(output), joined(c.legit)
	var leaks []string
	checked := 0
	for p := range c.phi {
		// Skip short strings and words that also occur in values that leave by design
		// (code displays, concept texts, organization names such as "HOLYOKE MEDICAL CENTER").
		if len(p) < 4 || strings.Contains(legit, p) {
			continue
		}
		checked++
		if strings.Contains(haystack, p) {
			leaks = append(leaks, p)
		}
	}
	sort.Strings(leaks)
	t.Logf("scrubbed %d resources, checked %d PHI strings against %d distinct output strings", scrubbed, checked, len(output))
	if checked < 500 || scrubbed < 10000 {
		t.Errorf("the sample looks too small: %d PHI strings, %d resources", checked, scrubbed)
	}
	if len(leaks) > 0 {
		t.Errorf("%d PHI strings leaked, e.g. %q", len(leaks), leaks[:min(len(leaks), 20)])
	}
}
