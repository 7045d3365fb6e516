package crawl

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cumulus-etl/internal/fhir/fhirtest"
)

// TestCrawl_CohortSources (issue 14 item 2): the Patients of Group/ID (by a bulk export of
// Patient only, or by reading the Group where the server offers no $export), an id file (one id
// a line, or a CSV whose ID or MRN column is found whatever its case), an id list, identifiers
// matched in Patient.identifier with --id-system, and the Patients of an earlier export all give
// the same cohort, and the crawl gets exactly their resources.
func TestCrawl_CohortSources(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := []string{"p001", "p003", "p004"}
	earlier := filepath.Join(tmp, "earlier")
	os.MkdirAll(earlier, 0o700)
	write("earlier/Patient.000.ndjson", `{"resourceType":"Patient","id":"p003"}`+"\n"+`{"resourceType":"Patient","id":"p001"}`+"\n")
	write("earlier/1.Patient.ndjson", `{"resourceType":"Patient","id":"p004"}`+"\n")
	cases := []struct {
		name   string
		cohort Cohort
		opts   []fhirtest.Option
	}{
		{"Group by bulk export", Cohort{Group: "G2"}, nil},
		{"Group members read", Cohort{Group: "G2"}, []fhirtest.Option{fhirtest.WithoutGroupExport()}},
		{"id file, one a line", Cohort{IDFile: write("ids.txt", "\ufeffp003\r\n\np001\np004\np003\n")}, nil},
		{"id file, CSV with an Id column", Cohort{IDFile: write("ids.csv", "Name,Id\nx,p004\ny,p001\nz,p003\n")}, nil},
		{"id list", Cohort{IDList: []string{"p004,p001", "p003"}}, nil},
		{"MRNs in a CSV column, matched with --id-system", Cohort{IDFile: write("mrns.csv", "mrn\nMRN-p001\nMRN-p003\nMRN-p004\n"), IDSystem: "urn:mrn"}, nil},
		{"id list and file together", Cohort{IDList: []string{"p001"}, IDFile: write("more.txt", "p003\np004\n")}, nil},
		{"the Patients of an earlier export", Cohort{SourceDir: earlier}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, 6, tc.opts...)
			srv.AddResources(t, group("G2", want))
			o := options(t, newClient(t, srv), t.TempDir())
			o.Cohort = tc.cohort
			res := mustCrawl(t, withRequest(t, o))
			got := exported(t, o.Dir)
			if !slices.Equal(got["Patient"], want) || res.Patients != 3 {
				t.Errorf("patients %v (result: %d), want %v", got["Patient"], res.Patients, want)
			}
			if n := count(got); n != 3*perPatientFiltered {
				t.Errorf("%d resources, want %d", n, 3*perPatientFiltered)
			}
		})
	}
}

// TestCrawl_CohortProblems: unusable cohorts are refused with the reason, without quoting ids;
// identifiers that match no Patient are listed and the rest is crawled.
func TestCrawl_CohortProblems(t *testing.T) {
	tmp := t.TempDir()
	csv := filepath.Join(tmp, "cohort.csv")
	os.WriteFile(csv, []byte("name,dob\nx,1990\n"), 0o600)
	bad := filepath.Join(tmp, "bad.txt")
	os.WriteFile(bad, []byte("p001\nnot an id!\n"), 0o600)
	empty := filepath.Join(tmp, "empty.txt")
	os.WriteFile(empty, nil, 0o600)
	cases := []struct {
		name   string
		cohort Cohort
		want   error
		says   string
	}{
		{"CSV without ID or MRN", Cohort{IDFile: csv}, ErrBadIDs, "no ID or MRN column"},
		{"a line that is no FHIR id", Cohort{IDFile: bad}, ErrBadIDs, "line 2"},
		{"an empty file", Cohort{IDFile: empty}, ErrCohortEmpty, "empty.txt"},
		{"no cohort", Cohort{}, ErrCrawlFailed, "needs a cohort"},
		{"two cohorts", Cohort{Group: "G1", IDList: []string{"p001"}}, ErrCrawlFailed, "give one cohort"},
	}
	srv := newServer(t, 3)
	c := newClient(t, srv)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, c, t.TempDir())
			o.Cohort = tc.cohort
			_, err := Crawl(t.Context(), withRequest(t, o))
			if !errorsIs(err, tc.want) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "not an id!") {
				t.Errorf("error %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
	t.Run("identifiers that match no Patient", func(t *testing.T) {
		o := options(t, c, t.TempDir())
		o.Cohort = Cohort{IDList: []string{"MRN-p001,MRN-nobody,MRN-p002"}, IDSystem: "urn:mrn"}
		res := mustCrawl(t, withRequest(t, o))
		if res.Patients != 2 || res.Unresolved != 1 {
			t.Errorf("%d patients, %d unresolved; want 2 and 1", res.Patients, res.Unresolved)
		}
		list, _ := os.ReadFile(filepath.Join(o.Dir, unresolvedName))
		if !strings.Contains(string(list), "MRN-nobody\tno Patient has it") {
			t.Errorf("the list says %q", list)
		}
	})
}
