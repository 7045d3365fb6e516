package crawl

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// TestLineSorter_MoreThanItsMemoryBound: lines far beyond the sorter's memory bound come out
// sorted and distinct, through run files merged from disk (the cohort of a million patients
// and the strays are sorted so).
func TestLineSorter_MoreThanItsMemoryBound(t *testing.T) {
	defer func(old int) { sortChunkBytes = old }(sortChunkBytes)
	sortChunkBytes = 4 << 10
	dir := t.TempDir()
	s, err := newLineSorter(filepath.Join(dir, "sort"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]bool{}
	for range 20000 {
		id := fmt.Sprintf("p%06d", rng.IntN(12000))
		want[id] = true
		if err := s.add([]byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.runs) < 10 {
		t.Fatalf("%d runs: the data did not exceed the memory bound", len(s.runs))
	}
	sf, err := writeSorted(s, filepath.Join(dir, "cohort.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	var got []string
	sf.each(func(_ int, line []byte) error { got = append(got, string(line)); return nil })
	if len(got) != len(want) || !slices.IsSorted(got) || sf.n != len(want) {
		t.Errorf("%d lines (sorted %v), want %d distinct", len(got), slices.IsSorted(got), len(want))
	}
	if runs, _ := filepath.Glob(filepath.Join(dir, "sort", "run.*")); len(runs) > 0 {
		t.Errorf("run files left: %v", runs)
	}
}

// TestSortedFile_Contains: the on-disk lookup finds every line and nothing else, at the ends,
// between lines and in an empty file.
func TestSortedFile_Contains(t *testing.T) {
	cases := []struct {
		lines   []string
		present []string
		absent  []string
	}{
		{nil, nil, []string{"a", ""}},
		{[]string{"m"}, []string{"m"}, []string{"a", "z", "mm"}},
		{[]string{"a", "bb", "c", "dddddddddddddddddddddddddddddddd", "e"}, []string{"a", "bb", "c", "dddddddddddddddddddddddddddddddd", "e"},
			[]string{"b", "bbb", "d", "f", "0"}},
	}
	var many []string
	for i := range 1000 {
		many = append(many, fmt.Sprintf("id-%05d", i*2))
	}
	cases = append(cases, struct{ lines, present, absent []string }{many, many, []string{"id-00001", "id-01999", "id-99999", "id-"}})
	for i, tc := range cases {
		dir := t.TempDir()
		s, _ := newLineSorter(filepath.Join(dir, "sort"))
		for _, l := range tc.lines {
			s.add([]byte(l))
		}
		sf, err := writeSorted(s, filepath.Join(dir, "f.txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.present {
			if ok, err := sf.contains([]byte(k)); !ok || err != nil {
				t.Errorf("case %d: %q not found (%v)", i, k, err)
			}
		}
		for _, k := range tc.absent {
			if ok, err := sf.contains([]byte(k)); ok || err != nil {
				t.Errorf("case %d: %q found (%v)", i, k, err)
			}
		}
		sf.Close()
	}
}
