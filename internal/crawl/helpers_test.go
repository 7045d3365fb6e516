package crawl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
	"cumulus-etl/internal/input"
	"cumulus-etl/internal/store"
)

// crawlTypes are the types the tests crawl (eight, as the benchmark's).
var crawlTypes = []string{"AllergyIntolerance", "Condition", "DocumentReference", "Encounter", "Immunization",
	"MedicationRequest", "Observation", "Patient"}

// searchTypes is a CapabilityStatement listing each type's search parameters, as a strict
// server does (anything else is refused with 400).
func searchTypes(lastUpdated bool) []fhirtest.SearchType {
	var out []fhirtest.SearchType
	for _, typ := range crawlTypes {
		params := []string{"patient"}
		switch typ {
		case "Patient":
			params = []string{"_id", "identifier"}
		case "AllergyIntolerance", "Immunization":
		default:
			params = append(params, "subject")
		}
		if typ == "Observation" {
			params = append(params, "category")
		}
		if p := CreatedSearchParams[typ]; p != "" {
			params = append(params, p)
		}
		if lastUpdated {
			params = append(params, "_lastUpdated")
		}
		out = append(out, fhirtest.SearchType{Type: typ, Params: params})
	}
	return out
}

// resource renders a resource as JSON.
func resource(fields map[string]any) []byte {
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return b
}

// patientData is one patient's resources: the Patient (with an MRN), two Encounters, four
// Observations (laboratory, vital-signs, exam, and one of a category the default filter leaves
// out), and one each of the other crawled types. AllergyIntolerance and Immunization name the
// patient in "patient", the others in "subject".
func patientData(id string, updated string) [][]byte {
	subject := map[string]any{"reference": "Patient/" + id}
	meta := map[string]any{"lastUpdated": updated}
	out := [][]byte{resource(map[string]any{"resourceType": "Patient", "id": id, "meta": meta,
		"identifier": []any{map[string]any{"system": "urn:mrn", "value": "MRN-" + id}}})}
	for k := range 2 {
		out = append(out, resource(map[string]any{"resourceType": "Encounter", "id": fmt.Sprintf("enc-%s-%d", id, k),
			"meta": meta, "subject": subject, "status": "finished"}))
	}
	for k, cat := range []string{"laboratory", "vital-signs", "exam", "imaging-orders"} {
		out = append(out, resource(map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("obs-%s-%d", id, k),
			"meta": meta, "subject": subject, "status": "final", "issued": updated,
			"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": cat}}}}}))
	}
	for _, typ := range []string{"Condition", "DocumentReference", "MedicationRequest"} {
		out = append(out, resource(map[string]any{"resourceType": typ, "id": strings.ToLower(typ[:4]) + "-" + id,
			"meta": meta, "subject": subject, "recordedDate": updated, "date": updated, "authoredOn": updated}))
	}
	for _, typ := range []string{"AllergyIntolerance", "Immunization"} {
		out = append(out, resource(map[string]any{"resourceType": typ, "id": strings.ToLower(typ[:4]) + "-" + id,
			"meta": meta, "patient": subject, "recordedDate": updated}))
	}
	return out
}

// perPatient is how many resources patientData makes, and how many pass the default filter.
const (
	perPatient         = 1 + 2 + 4 + 3 + 2
	perPatientFiltered = perPatient - 1
)

// patientIDs are p000 ... p(n-1).
func patientIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%03d", i)
	}
	return ids
}

// group renders Group/id with these members.
func group(id string, members []string) []byte {
	var list []any
	for _, m := range members {
		list = append(list, map[string]any{"entity": map[string]any{"reference": "Patient/" + m}})
	}
	return resource(map[string]any{"resourceType": "Group", "id": id, "type": "person", "actual": true, "member": list})
}

// newServer starts a fake EHR holding n patients in Group G1.
func newServer(t *testing.T, n int, opts ...fhirtest.Option) *fhirtest.Server {
	t.Helper()
	opts = append([]fhirtest.Option{fhirtest.WithSearchTypes(searchTypes(true)...)}, opts...)
	srv := fhirtest.NewServer(t, opts...)
	ids := patientIDs(n)
	var all [][]byte
	for _, id := range ids {
		all = append(all, patientData(id, "2024-03-01T00:00:00Z")...)
	}
	srv.AddResources(t, append(all, group("G1", ids))...)
	return srv
}

// newClient connects to the fake with its registered SMART client.
func newClient(t *testing.T, srv *fhirtest.Server) *fhir.Client {
	t.Helper()
	c, err := fhir.New(context.Background(), srv.Options(append(crawlTypes, "Group")...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// options are the crawl options of a test: the Group G1 cohort, crawlTypes, the default
// Observation filter.
func options(t *testing.T, c *fhir.Client, dir string) Options {
	t.Helper()
	o := Options{Client: c, Dir: dir, Cohort: Cohort{Group: "G1"}, Types: crawlTypes,
		Filters: Filters{}.WithDefaultObservationFilter(crawlTypes, c.Capabilities())}
	return withRequest(t, o)
}

// withRequest sets o.Request as the CLI does: the kick-off URL of the same export.
func withRequest(t *testing.T, o Options) Options {
	t.Helper()
	u := o.Client.BaseURL().String()
	if o.Cohort.Group != "" {
		u += "Group/" + o.Cohort.Group
	}
	req, err := bulk.KickoffURL(bulk.Options{URL: u, Types: o.Types, TypeFilters: o.Filters.TypeFilterValues(),
		Since: o.Window.Since, Until: o.Window.Until})
	if err != nil {
		t.Fatal(err)
	}
	o.Request = req
	return o
}

// exported reads the folder as the ETL does: every resource id by type (sorted), and the file
// lines, checked to be of their file's type.
func exported(t *testing.T, dir string) map[string][]string {
	t.Helper()
	exp, err := input.Scan(context.Background(), store.NewLocal(dir, store.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Unknown) > 0 {
		t.Fatalf("files of unknown type: %v", exp.Unknown)
	}
	out := map[string][]string{}
	for typ, files := range exp.Resources {
		for _, f := range files {
			for _, line := range readLines(t, f.Path) {
				var h header
				if err := json.Unmarshal([]byte(line), &h); err != nil || h.ResourceType != typ {
					t.Fatalf("%s: line %q is not a %s", f.Path, line, typ)
				}
				out[typ] = append(out[typ], h.ID)
			}
		}
		slices.Sort(out[typ])
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	if err := eachLine(path, func(b []byte) error { lines = append(lines, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	return lines
}

// count adds up the resources of every type.
func count(byType map[string][]string) int {
	n := 0
	for _, ids := range byType {
		n += len(ids)
	}
	return n
}

// duplicates lists the ids that appear more than once.
func duplicates(byType map[string][]string) []string {
	var out []string
	for typ, ids := range byType {
		for i := 1; i < len(ids); i++ {
			if ids[i] == ids[i-1] {
				out = append(out, typ+"/"+ids[i])
			}
		}
	}
	return out
}

// mustCrawl runs a crawl that must succeed.
func mustCrawl(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Crawl(context.Background(), o)
	if err != nil {
		if res != nil {
			b, _ := os.ReadFile(res.FailedList)
			t.Log(string(b))
		}
		t.Fatalf("crawl: %v", err)
	}
	return res
}

func errorsIs(err, target error) bool { return err != nil && errors.Is(err, target) }

// newClientWith connects with the given client options.
func newClientWith(t *testing.T, o fhir.Options) *fhir.Client {
	t.Helper()
	c, err := fhir.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withoutLastUpdated are server options for a CapabilityStatement without _lastUpdated.
func withoutLastUpdated() []fhirtest.Option {
	return []fhirtest.Option{fhirtest.WithSearchTypes(searchTypes(false)...)}
}
