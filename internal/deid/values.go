package deid

// splitRef finds what a reference's fake id is made from, as Cumulus ETL does: "Type/id" (a
// version suffix "/_history/v" is dropped), "Type?search" (the search string stands for the id),
// "#id" or a bare "#" (contained; typ is empty), or a bare id with a sibling "type", which
// siblingType returns trimmed (so the answer does not depend on whether that field was scrubbed
// yet). ok is false for every other form (an absolute URL, a URN, no type): such a reference
// cannot be de-identified and is masked.
func splitRef[T text](ref T, siblingType func() T) (typ, id T, ok bool) {
	i := typeLen(ref)
	if i > 0 && i+1 < len(ref) && ref[i] == '/' {
		j := i + 1
		for j < len(ref) && idByte[ref[j]] {
			j++
		}
		if j == len(ref) {
			return ref[:i], ref[i+1:], true // the common "Type/id", in one pass
		}
		typ, id = ref[:i], ref[i+1:]
		if h := indexString(id, "/_history/"); h > 0 && validID(id[:h]) && validID(id[h+len("/_history/"):]) {
			id = id[:h]
		}
		return typ, id, true
	}
	if i > 0 && i+1 < len(ref) && ref[i] == '?' {
		return ref[:i], ref[i+1:], true
	}
	if len(ref) > 0 && ref[0] == '#' {
		return typ, ref[1:], true
	}
	if indexByte(ref, '/') < 0 && indexByte(ref, '?') < 0 && indexByte(ref, ':') < 0 {
		if typ = siblingType(); validType(typ) {
			return typ, ref, true
		}
	}
	return typ, id, false
}

// typeLen returns the length of the run of ASCII letters s starts with: a resource type name,
// as Cumulus reads one (any case).
func typeLen[T text](s T) int {
	i := 0
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

// fhirDate reports whether s is a FHIR date: YYYY, YYYY-MM or YYYY-MM-DD (month 01-12, day
// 01-31, year 0001-9999), the only form the year rule generalizes.
func fhirDate[T text](s T) bool {
	if len(s) != 4 && len(s) != 7 && len(s) != 10 {
		return false
	}
	if !allDigits(s[:4]) || string(s[:4]) == "0000" {
		return false
	}
	if len(s) >= 7 && (s[4] != '-' || !inRange(s[5:7], "01", "12")) {
		return false
	}
	return len(s) != 10 || (s[7] == '-' && inRange(s[8:10], "01", "31"))
}

// dateLike reports whether s has the shape of a FHIR date, dateTime, instant or time, leniently
// (a space for the "T", no seconds or no time zone are accepted): what a "date" rule keeps.
func dateLike[T text](s T) bool {
	n := len(s)
	switch {
	case n >= 5 && s[2] == ':':
		return timeLike(s)
	case n < 4 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]):
		return false
	case n == 4:
		return true
	case n < 7 || s[4] != '-' || !isDigit(s[5]) || !isDigit(s[6]):
		return false
	case n == 7:
		return true
	case n < 10 || s[7] != '-' || !isDigit(s[8]) || !isDigit(s[9]):
		return false
	case n == 10:
		return true
	}
	return (s[10] == 'T' || s[10] == ' ') && timeLike(s[11:])
}

// timeLike reports whether s is hh:mm[:ss[.fraction]] with an optional Z or ±hh:mm zone.
func timeLike[T text](s T) bool {
	if len(s) < 5 || !isDigit(s[0]) || !isDigit(s[1]) || s[2] != ':' || !isDigit(s[3]) || !isDigit(s[4]) {
		return false
	}
	i := 5
	if len(s) >= 8 && s[5] == ':' && isDigit(s[6]) && isDigit(s[7]) {
		i = 8
		if len(s) >= 10 && s[8] == '.' && isDigit(s[9]) {
			for i = 10; i < len(s) && isDigit(s[i]); i++ {
			}
		}
	}
	switch rest := len(s) - i; {
	case rest == 0:
		return true
	case rest == 1:
		return s[i] == 'Z'
	case rest == 6 && (s[i] == '+' || s[i] == '-'):
		return isDigit(s[i+1]) && isDigit(s[i+2]) && s[i+3] == ':' && isDigit(s[i+4]) && isDigit(s[i+5])
	}
	return false
}

func inRange[T text](s T, lo, hi string) bool {
	return len(s) == len(lo) && allDigits(s) && string(s) >= lo && string(s) <= hi
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

func indexString[T text](s T, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == sub {
			return i
		}
	}
	return -1
}

func hasPrefix[T text](s T, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

// lowerASCII returns b with ASCII letters in lower case (in place).
func lowerASCII(b []byte) []byte {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// hasPrefixFold reports whether s starts with prefix (lowercase ASCII), ignoring ASCII case.
func hasPrefixFold[T text](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains sub (lowercase ASCII), ignoring ASCII case.
func containsFold[T text](s T, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
	}
	return false
}
