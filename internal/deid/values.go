package deid

import (
	"strings"
)

// anonRef replaces the id inside a reference with its fake id. Only forms whose id can be
// found are accepted: "Type/id" (a version suffix "/_history/v" is dropped), "#contained", and a
// bare id with a sibling "type". Anything else rejects the resource; the error never repeats the
// value, which may be PHI.
func (w *walker) anonRef(m map[string]any, ref string) (string, error) {
	cb := w.s.cb
	if contained, ok := strings.CutPrefix(ref, "#"); ok {
		if !validID(contained) {
			return "", reject("contained reference without a valid id")
		}
		return cb.fakeRef("#", "", contained), nil
	}
	if strings.ContainsRune(ref, ':') {
		return "", reject("absolute reference (URL or URN); only relative references can be de-identified")
	}
	i := strings.IndexAny(ref, "/?")
	if i < 0 {
		typ, _ := m["type"].(string)
		if !validType(typ) || !validID(ref) {
			return "", reject("reference is a bare id without a resource type")
		}
		return cb.fakeRef(typ+"/", typ, ref), nil
	}
	if ref[i] == '?' {
		return "", reject("search (conditional) reference has no id to de-identify")
	}
	typ, rest := ref[:i], ref[i+1:]
	if !validType(typ) {
		return "", reject("reference does not start with a resource type")
	}
	id, version, versioned := strings.Cut(rest, "/")
	if versioned {
		v, ok := strings.CutPrefix(version, "_history/")
		if !ok || !validID(v) {
			return "", reject("unexpected path after the reference id")
		}
	}
	if !validID(id) {
		return "", reject("reference has an empty or malformed id")
	}
	return cb.fakeRef(typ+"/", typ, id), nil
}

func reject(reason string) error { return &rejectError{reason: reason} }

// validType reports whether s looks like a FHIR resource type name.
func validType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// validID reports whether s can be an id: non-empty, with no separators or whitespace. (Ids
// longer than FHIR's 64 characters are accepted: Epic produces them.)
func validID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ', c == '/', c == '?', c == '#', c == ':', c == 0x7f:
			return false
		}
	}
	return true
}

// year keeps a date's leading year digits: "1965-01-13" → "1965".
func year(s string) (string, bool) {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return s[:n], n > 0
}

// zip generalizes a US ZIP or ZIP+4 code to its first three digits followed by "00", or to
// "00000" in a restricted ZIP3 area. Anything that is not a US ZIP code is dropped.
func (rs *ruleSet) zip(s string) (string, bool) {
	if len(s) < 5 || !allDigits(s[:5]) {
		return "", false
	}
	switch plus4 := s[5:]; {
	case plus4 == "":
	case len(plus4) == 5 && plus4[0] == '-' && allDigits(plus4[1:]):
	case len(plus4) == 4 && allDigits(plus4):
	default:
		return "", false
	}
	if rs.restrictedZip3[s[:3]] {
		return "00000", true
	}
	return s[:3] + "00", true
}

// systemAllows reports whether field k ("code" or "display") of a Coding or Quantity m may stay.
// Outside site-specific systems everything may. Inside one, vendors' own codes are numeric, so
// a non-numeric code (and its display) is a site's free-text entry; a display also goes when
// there is no code or the code is "0" ("other"), which sites fill with typed-in text.
func (rs *ruleSet) systemAllows(m map[string]any, k string) bool {
	sys, _ := m["system"].(string)
	if !rs.siteSpecificSystem(sys) {
		return true
	}
	code, _ := m["code"].(string)
	code = strings.TrimSpace(code)
	numeric := isInteger(code)
	if k == "code" {
		return numeric
	}
	return numeric && strings.TrimLeft(code, "+-0") != ""
}

func (rs *ruleSet) siteSpecificSystem(sys string) bool {
	for _, prefix := range rs.siteSpecific {
		if strings.HasPrefix(sys, prefix) {
			return true
		}
	}
	return false
}

// extensionAllowed reports whether an extension URL may keep its content. Inside an allowed
// extension, a relative URL (no scheme) names one of the parent's parts.
func (rs *ruleSet) extensionAllowed(url string, nested bool) bool {
	if nested && !strings.ContainsRune(url, ':') {
		return true
	}
	return rs.extAllowed[url]
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && allDigits(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
