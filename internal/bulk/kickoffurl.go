package bulk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// param is one query parameter with its values, kept in first-seen order so the kick-off URL
// is exactly what Cumulus ETL builds (Python urlencode of an ordered dict).
type param struct {
	key    string
	values []string
}

type params []param

func (ps *params) get(key string) *param {
	for i := range *ps {
		if (*ps)[i].key == key {
			return &(*ps)[i]
		}
	}
	*ps = append(*ps, param{key: key})
	return &(*ps)[len(*ps)-1]
}

// add appends values to key, skipping values already present.
func (ps *params) add(key string, values ...string) {
	if len(values) == 0 {
		return
	}
	p := ps.get(key)
	for _, v := range values {
		if !slices.Contains(p.values, v) && !slices.Contains(splitComma(p.values), v) {
			p.values = append(p.values, v)
		}
	}
}

// set replaces key's values (used for _since and _until, which override the URL's).
func (ps *params) set(key, value string) {
	if value != "" {
		ps.get(key).values = []string{value}
	}
}

func splitComma(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// encode joins repeated values with commas (Oracle Health rejects repeated _type) and
// percent-encodes each value once, "+" and "," included (KO-21, KO-22).
func (ps params) encode() string {
	var parts []string
	for _, p := range ps {
		if p.key == "patient" {
			continue
		}
		parts = append(parts, url.QueryEscape(p.key)+"="+url.QueryEscape(strings.Join(p.values, ",")))
	}
	return strings.Join(parts, "&")
}

// logged returns the parameters as the log's requestParameters object (patient removed).
func (ps params) logged() map[string]string {
	m := map[string]string{}
	for _, p := range ps {
		if p.key != "patient" {
			m[p.key] = strings.Join(p.values, ",")
		}
	}
	return m
}

// kickoff is a planned kick-off request.
type kickoff struct {
	url    string // GET: with query; POST: without
	post   bool
	params params
}

var (
	groupPathRE   = regexp.MustCompile(`^(.*)/Group/([^/]+)$`)
	patientPathRE = regexp.MustCompile(`^(.*)/Patient$`)
)

// ParseExportURL splits an export URL (.../Group/ID[/$export][?...], .../Patient[/$export] or a
// FHIR base) into the FHIR base URL and the Group id ("" for Patient and system exports).
func ParseExportURL(raw string) (base, group string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("export URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("export URL %q must be an absolute http(s) URL", raw)
	}
	path := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/$export")
	path = strings.TrimSuffix(path, "/")
	if m := groupPathRE.FindStringSubmatch(path); m != nil {
		path, group = m[1], m[2]
	} else if m := patientPathRE.FindStringSubmatch(path); m != nil {
		path = m[1]
	}
	base = (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: path}).String()
	return base, group, nil
}

// planKickoff builds the kick-off request from the user's URL and options, merging parameters
// already in the URL with the options (as Cumulus ETL's _format_kickoff_url does).
func planKickoff(o Options) (kickoff, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return kickoff{}, fmt.Errorf("export URL %q: %w", o.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return kickoff{}, fmt.Errorf("export URL %q must be an absolute http(s) URL", o.URL)
	}
	var ps params
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return kickoff{}, fmt.Errorf("export URL %q: bad query parameter %q", o.URL, kv)
		}
		ps.get(k).values = append(ps.get(k).values, v)
	}
	ps.add("_type", o.Types...)
	ps.add("_typeFilter", quoteFilterCommas(o.TypeFilters)...)
	ps.set("_since", o.Since)
	ps.set("_until", o.Until)
	ps.add("_elements", o.Elements...)
	for _, p := range o.Patients {
		if !strings.Contains(p, "/") {
			p = "Patient/" + p
		}
		ps.add("patient", p)
	}
	if o.PartialManifests {
		ps.set("allowPartialManifests", "true")
	}

	path := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(path, "/$export") {
		path += "/$export"
	}
	scope := strings.TrimSuffix(path, "/$export")
	hasPatients := len(ps.get("patient").values) > 0
	if hasPatients && !groupPathRE.MatchString(scope) && !patientPathRE.MatchString(scope) {
		return kickoff{}, fmt.Errorf("export URL %q: --patient needs a Patient or Group export, not a system-level one", o.URL)
	}
	ps = slices.DeleteFunc(ps, func(p param) bool { return len(p.values) == 0 })
	u.Path, u.RawPath, u.RawQuery, u.Fragment = path, "", "", ""
	k := kickoff{post: o.Post || hasPatients, params: ps}
	if !k.post {
		u.RawQuery = ps.encode()
	}
	k.url = u.String()
	return k, nil
}

// quoteFilterCommas writes the commas inside each _typeFilter query (category=a,b) as %2C, so
// they are not taken for the commas that separate filters once the values are joined (as SMART
// Fetch sends them; Epic, HAPI and Kodjin read them so).
func quoteFilterCommas(filters []string) []string {
	out := make([]string, len(filters))
	for i, f := range filters {
		out[i] = strings.ReplaceAll(f, ",", "%2C")
	}
	return out
}

// parametersBody renders params as a FHIR Parameters resource for a POST kick-off, one entry per
// value (STU4 forbids comma-joined values), typed per the OperationDefinitions (KO-03).
func (ps params) parametersBody() []byte {
	type entry struct {
		Name           string            `json:"name"`
		ValueString    string            `json:"valueString,omitempty"`
		ValueInstant   string            `json:"valueInstant,omitempty"`
		ValueBoolean   *bool             `json:"valueBoolean,omitempty"`
		ValueReference map[string]string `json:"valueReference,omitempty"`
	}
	var entries []entry
	for _, p := range ps {
		values := p.values
		if p.key == "_type" || p.key == "_elements" {
			values = splitComma(values)
		}
		for _, v := range values {
			e := entry{Name: p.key}
			switch p.key {
			case "_since", "_until":
				e.ValueInstant = v
			case "patient":
				e.ValueReference = map[string]string{"reference": v}
			case "allowPartialManifests":
				b := v == "true"
				e.ValueBoolean = &b
			default:
				e.ValueString = v
			}
			entries = append(entries, e)
		}
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{"resourceType": "Parameters", "parameter": entries})
	return buf.Bytes()
}
