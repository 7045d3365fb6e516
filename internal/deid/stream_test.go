package deid

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusLines calls fn with every line of the sample exports (synthea-60 and the committed
// sample) and with each golden input, passing the resource type its file name gives.
func corpusLines(t testing.TB, fn func(name string, line []byte, wantType string)) {
	t.Helper()
	dirs := []string{syntheaDir(t), filepath.Join(moduleRoot(t), "sample", "export")}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson*"))
		if len(files) == 0 {
			t.Fatalf("no ndjson files in %s", dir)
		}
		for _, path := range files {
			eachLine(t, path, func(n int, line []byte) {
				fn(filepath.Base(path)+":"+itoa(n), line, strings.SplitN(filepath.Base(path), ".", 2)[0])
			})
		}
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.input.json"))
	for _, path := range golden {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fn(path, data, strings.SplitN(filepath.Base(path), ".", 2)[0])
	}
}

func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("module root not found")
		}
		dir = parent
	}
}

// eachLine reads a plain or gzipped ndjson file line by line.
func eachLine(t testing.TB, path string, fn func(n int, line []byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		fn(n, sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestScrubJSONMatchesScrubOnSampleExports(t *testing.T) {
	count := 0
	corpusLines(t, func(name string, line []byte, wantType string) {
		count++
		if diff := equivalence(line, wantType); diff != "" {
			t.Errorf("%s: %s", name, diff)
		}
	})
	t.Logf("compared %d resources", count)
	if count < 10000 {
		t.Errorf("only %d resources compared", count)
	}
}

func TestNeedsLookFindsEveryByteAStringMustNotHold(t *testing.T) {
	for b := 0; b < 256; b++ {
		for pos := 0; pos < 8; pos++ {
			var word [8]byte
			for i := range word {
				word[i] = 'a'
			}
			word[pos] = byte(b)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(word[i])
			}
			if needsLook(x) != !strSafe[b] {
				t.Errorf("byte %#x at %d: needsLook = %v", b, pos, needsLook(x))
			}
		}
	}
}

// eachRuleNode calls visit once for every node of the compiled rules: resources, datatypes,
// backbone elements and extension definitions with their parts; it returns how many there were.
func eachRuleNode(t *testing.T, visit func(n *node)) int {
	t.Helper()
	rules, err := compiledRules()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[*node]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		visit(n)
		for _, r := range n.fields {
			walk(r.node)
		}
		for _, p := range n.parts {
			walk(p)
		}
		walk(n.anyPart)
	}
	for _, n := range rules.resources {
		walk(n)
	}
	for _, n := range rules.extensions {
		walk(n)
	}
	for _, n := range rules.modifiers {
		walk(n)
	}
	return len(seen)
}

func TestFieldTableFindsExactlyTheRuleFields(t *testing.T) {
	seen := eachRuleNode(t, func(n *node) {
		for name, r := range n.fields {
			if f := n.table.find([]byte(name)); f == nil || f.name != name || f.rule != r {
				t.Errorf("%s: find(%q) = %+v", n.name, name, f)
			}
			for _, other := range []string{name + "x", name[:len(name)-1], "_" + name + "_"} {
				if _, ok := n.fields[other]; !ok && n.table.find([]byte(other)) != nil {
					t.Errorf("%s: find(%q) found a field that is not in the rules", n.name, other)
				}
			}
		}
		if n.table.find(nil) != nil {
			t.Errorf("%s: find(\"\") found a field", n.name)
		}
	})
	if seen < 50 {
		t.Errorf("only %d nodes checked", seen)
	}
}
