package crawl

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"cumulus-etl/internal/fhir"
)

// notPerPatient are the resource types no patient search reaches: a crawl leaves them out (the
// hydrate command fetches the ones exported resources refer to).
var notPerPatient = []string{"Binary", "Group", "Location", "Medication", "Organization", "Practitioner", "PractitionerRole"}

// patientParamTypes are the types whose R4 search parameter for the patient compartment is
// "patient"; other types fall back to "subject" when the CapabilityStatement does not say.
var patientParamTypes = []string{"AllergyIntolerance", "CarePlan", "CareTeam", "Condition", "Coverage", "Device",
	"DiagnosticReport", "DocumentReference", "Encounter", "EpisodeOfCare", "FamilyMemberHistory", "Goal", "Immunization",
	"MedicationAdministration", "MedicationDispense", "MedicationRequest", "MedicationStatement", "Observation",
	"Procedure", "ServiceRequest", "Specimen"}

// typeSearch is how one resource type is searched for each patient.
type typeSearch struct {
	Type    string
	Param   string   // the patient's search parameter: patient, subject, or _id for Patient itself
	Queries []string // one search per query, ORed ("" is the only one when there are no filters)
	Window  string   // the since/until query for patients already in the previous export ("" none)
	Extra   string   // _elements and _count, on every search
}

// url returns the search for patient id with query; whole leaves the window out (new patients).
func (ts typeSearch) url(id, query string, whole bool) string {
	parts := []string{ts.Param + "=" + url.QueryEscape(id)}
	if query != "" {
		parts = append(parts, searchQuery(query))
	}
	if ts.Window != "" && !whole {
		parts = append(parts, ts.Window)
	}
	if ts.Extra != "" {
		parts = append(parts, ts.Extra)
	}
	return ts.Type + "?" + strings.Join(parts, "&")
}

// searchQuery re-encodes a --type-filter query so it is a valid URL query, keeping commas (FHIR's
// OR) as they are, as SMART Fetch sends them.
func searchQuery(q string) string {
	vals, _ := url.ParseQuery(q) // checked by ParseTypeFilters
	var parts []string
	for _, k := range sortedKeys(vals) {
		for _, v := range vals[k] {
			parts = append(parts, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "%2C", ","))
		}
	}
	return strings.Join(parts, "&")
}

// skipped is a type left out of a crawl, with the reason.
type skipped struct{ Type, Why string }

// planSearches decides how each type is searched, from the server's CapabilityStatement.
func planSearches(o *Options, caps fhir.Capabilities) (plans []typeSearch, skips []skipped) {
	extra := extraParams(o, caps)
	for _, typ := range o.Types {
		param, why := patientParam(typ, caps)
		if why != "" {
			skips = append(skips, skipped{typ, why})
			continue
		}
		queries := o.Filters[typ]
		if len(queries) == 0 {
			queries = []string{""}
		}
		plans = append(plans, typeSearch{Type: typ, Param: param, Queries: queries, Window: o.Window.query(typ, caps), Extra: extra})
	}
	return plans, skips
}

// patientParam is the search parameter that finds typ's resources of one patient, or why typ
// cannot be crawled.
func patientParam(typ string, caps fhir.Capabilities) (param, why string) {
	listed := caps.SearchParams[typ]
	switch {
	case typ == "Patient":
		return "_id", ""
	case slices.Contains(notPerPatient, typ):
		return "", "not in the patient compartment: no patient search reaches it (hydrate fetches the ones resources refer to)"
	case len(caps.ResourceTypes) > 0 && !slices.Contains(caps.ResourceTypes, typ):
		return "", "the server's CapabilityStatement does not list it"
	case typ == "EpisodeOfCare" && caps.IsEpic():
		return "", "Epic cannot search it without a type (SMART Fetch skips it too; hydrate can fetch the ones encounters refer to)"
	case slices.Contains(listed, "patient"):
		return "patient", ""
	case slices.Contains(listed, "subject"):
		return "subject", ""
	case len(listed) > 0:
		return "", "the server lists no patient or subject search parameter for it"
	case slices.Contains(patientParamTypes, typ):
		return "patient", ""
	}
	return "subject", ""
}

// extraParams are the parameters every search carries: _elements, and _count sized for the
// server (PageSize when given; none for Epic, which pages by itself; 200 for Oracle Health, its
// ceiling; 500 otherwise, which servers with a lower ceiling lower).
func extraParams(o *Options, caps fhir.Capabilities) string {
	var parts []string
	if len(o.Elements) > 0 {
		parts = append(parts, "_elements="+url.QueryEscape(strings.Join(o.Elements, ",")))
	}
	count := o.PageSize
	if count == 0 {
		switch {
		case caps.IsEpic():
			count = -1
		case caps.IsOracle():
			count = 200
		default:
			count = 500
		}
	}
	if count > 0 {
		parts = append(parts, "_count="+strconv.Itoa(count))
	}
	return strings.Join(parts, "&")
}

// describe is the plan as one line per type, for the start of a crawl.
func describe(plans []typeSearch, skips []skipped) []string {
	var lines []string
	for _, p := range plans {
		line := fmt.Sprintf("%s by %s", p.Type, p.Param)
		if len(p.Queries) > 1 || p.Queries[0] != "" {
			line += fmt.Sprintf(", %d filter(s)", len(p.Queries))
		}
		if p.Window != "" {
			line += ", changes only (new patients: everything)"
		}
		lines = append(lines, line)
	}
	for _, s := range skips {
		lines = append(lines, s.Type+" left out: "+s.Why)
	}
	return lines
}
