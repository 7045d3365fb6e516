package deid

// splitRef finds the resource type and id inside a relative reference; typ is empty for a
// "#contained" reference. siblingType, called only for a bare id, returns the sibling "type",
// trimmed (so the answer does not depend on whether that field was scrubbed yet).
func splitRef[T text](ref T, siblingType func() T) (typ, id T, err error) {
	if i := typeLen(ref); i > 0 && i < len(ref) && ref[i] == '/' {
		// The common "Type/id" in one pass; anything else takes the checks below.
		j := i + 1
		for j < len(ref) && idByte[ref[j]] {
			j++
		}
		if j == len(ref) && j > i+1 {
			return ref[:i], ref[i+1:], nil
		}
	}
	if len(ref) > 0 && ref[0] == '#' {
		if !validID(ref[1:]) {
			return typ, id, reject("contained reference without a valid id")
		}
		return typ, ref[1:], nil
	}
	if indexByte(ref, ':') >= 0 {
		return typ, id, reject("absolute reference (URL or URN); only relative references can be de-identified")
	}
	i := indexByte(ref, '/')
	if q := indexByte(ref, '?'); q >= 0 && (i < 0 || q < i) {
		return typ, id, reject("search (conditional) reference has no id to de-identify")
	}
	if i < 0 {
		typ = siblingType()
		if !validType(typ) || !validID(ref) {
			return typ, id, reject("reference is a bare id without a resource type")
		}
		return typ, ref, nil
	}
	typ, rest := ref[:i], ref[i+1:]
	if !validType(typ) {
		return typ, id, reject("reference does not start with a resource type")
	}
	id = rest
	if j := indexByte(rest, '/'); j >= 0 {
		id = rest[:j]
		if v := rest[j+1:]; !hasPrefix(v, "_history/") || !validID(v[len("_history/"):]) {
			return typ, id, reject("unexpected path after the reference id")
		}
	}
	if !validID(id) {
		return typ, id, reject("reference has an empty or malformed id")
	}
	return typ, id, nil
}

func reject(reason string) error { return &rejectError{reason: reason} }

// typeLen returns the length of the resource type name s starts with (0 if none).
func typeLen[T text](s T) int {
	if len(s) == 0 || s[0] < 'A' || s[0] > 'Z' {
		return 0
	}
	i := 1
	for i < len(s) && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
		i++
	}
	return i
}

// idByte marks the bytes validID accepts.
var idByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c > ' ' && c != '/' && c != '?' && c != '#' && c != ':' && c != 0x7f
	}
	return t
}()

// validType reports whether s looks like a FHIR resource type name.
func validType[T text](s T) bool {
	return len(s) > 0 && typeLen(s) == len(s)
}

// validID reports whether s can be an id: non-empty, with no separators or whitespace. (Ids
// longer than FHIR's 64 characters are accepted: Epic produces them.)
func validID[T text](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idByte[s[i]] {
			return false
		}
	}
	return true
}

// year keeps a date's leading year digits: "1965-01-13" → "1965".
func year[T text](s T) (T, bool) {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return s[:n], n > 0
}

// zipArea reports whether s is a US ZIP code, and whether its ZIP3 area is restricted.
func zipArea[T text](rs *ruleSet, s T) (ok, restricted bool) {
	if len(s) < 5 || !allDigits(s[:5]) {
		return false, false
	}
	switch plus4 := s[5:]; {
	case len(plus4) == 0:
	case len(plus4) == 5 && plus4[0] == '-' && allDigits(plus4[1:]):
	case len(plus4) == 4 && allDigits(plus4):
	default:
		return false, false
	}
	return true, rs.restrictedZip3[string(s[:3])]
}

// systemAllows reports whether field k ("code" or "display") of a Coding or Quantity may stay,
// given its sibling system and code. Outside site-specific systems everything may. Inside one,
// vendors' own codes are numeric, so a non-numeric code (and its display) is a site's free-text
// entry; a display also goes when there is no code or the code is "0" ("other"), which sites
// fill with typed-in text. The caller trims both siblings, so the answer does not depend on
// whether they were scrubbed yet.
func systemAllows[T text](rs *ruleSet, system, code T, isCode bool) bool {
	if !siteSpecificSystem(rs, system) {
		return true
	}
	numeric := isInteger(code)
	if isCode {
		return numeric
	}
	return numeric && trimLeftSignsAndZeros(code) > 0
}

func siteSpecificSystem[T text](rs *ruleSet, sys T) bool {
	for _, prefix := range rs.siteSpecific {
		if hasPrefix(sys, prefix) {
			return true
		}
	}
	return false
}

// extensionAllowed reports whether an extension URL may keep its content. Inside an allowed
// extension, a relative URL (no scheme) names one of the parent's parts.
func extensionAllowed[T text](rs *ruleSet, url T, nested bool) bool {
	if nested && indexByte(url, ':') < 0 {
		return true
	}
	return rs.extAllowed[string(url)]
}

// text is what the value helpers work on: strings of decoded maps, bytes of JSON lines.
type text interface{ ~string | ~[]byte }

func isInteger[T text](s T) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	return len(s) > 0 && allDigits(s)
}

// trimLeftSignsAndZeros returns how many bytes of s are left after its leading '+', '-' and '0'.
func trimLeftSignsAndZeros[T text](s T) int {
	i := 0
	for i < len(s) && (s[i] == '+' || s[i] == '-' || s[i] == '0') {
		i++
	}
	return len(s) - i
}

func allDigits[T text](s T) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func indexByte[T text](s T, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func hasPrefix[T text](s T, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}
