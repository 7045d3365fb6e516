package deid

// systemAllows reports whether the code (isCode) or display of a Coding or Quantity may stay,
// given whether its sibling system is site-specific and its sibling code. Outside site-specific
// systems everything may. Inside one, vendors' own codes are numeric, so a non-numeric code is a
// site's free-text entry and goes (with its display); the display of a numeric code is the
// site's own wording and goes too. The caller trims the siblings, so the answer does not depend
// on whether they were scrubbed yet.
func systemAllows[T text](siteSpecific bool, code T, isCode bool) bool {
	return !siteSpecific || (isCode && isInteger(code))
}

// siteSpecificSystem reports whether sys (trimmed) is one of the rules' site-specific systems,
// however it is written: "URN:OID:1.2.840.114350.1", "1.2.840.114350.1" and
// "urn:oid: 1.2.840.114350.1" alike, and http(s) systems in any case.
func siteSpecificSystem[T text](rs *ruleSet, sys T) bool {
	if len(sys) == 0 {
		return false
	}
	switch c := sys[0]; {
	case isDigit(c):
		return siteSpecificOID(rs, sys)
	case c == 'u' || c == 'U':
		if !hasPrefixFold(sys, "urn:oid:") {
			return false
		}
		oid := sys[len("urn:oid:"):]
		for len(oid) > 0 && (oid[0] == ' ' || oid[0] == '\t') {
			oid = oid[1:]
		}
		return siteSpecificOID(rs, oid)
	case c == 'h' || c == 'H':
		host, path, ok := splitHTTP(sys)
		if !ok || len(host) == 0 {
			return false
		}
		last := host[len(host)-1] | 0x20 // in lower case, if a letter
		for _, ss := range rs.siteSpecific {
			if ss.URLHost != "" && last == ss.URLHost[len(ss.URLHost)-1] && hostWithin(host, ss.URLHost) && containsFold(path, ss.URLPath) {
				return true
			}
		}
	}
	return false
}

// siteSpecificOID reports whether oid is one of the rules' site-specific root OIDs or an arc of one.
func siteSpecificOID[T text](rs *ruleSet, oid T) bool {
	for _, ss := range rs.siteSpecific {
		if ss.OID != "" && hasPrefix(oid, ss.OID) && (len(oid) == len(ss.OID) || oid[len(ss.OID)] == '.') {
			return true
		}
	}
	return false
}

// splitHTTP splits an http(s) URL (scheme in any case) into its host (port removed) and the rest.
func splitHTTP[T text](s T) (host, path T, ok bool) {
	if len(s) < 8 || s[0]|0x20 != 'h' || s[1]|0x20 != 't' || s[2]|0x20 != 't' || s[3]|0x20 != 'p' {
		return host, path, false
	}
	i := 4
	if s[4]|0x20 == 's' {
		i = 5
	}
	if s[i] != ':' || s[i+1] != '/' || s[i+2] != '/' {
		return host, path, false
	}
	s = s[i+3:]
	end := len(s)
	if i := indexByte(s, '/'); i >= 0 {
		end = i
	}
	host, path = s[:end], s[end:]
	if len(host) > 0 && isDigit(host[len(host)-1]) { // a port, or an IP address
		if i := indexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
	}
	return host, path, true
}

// hostWithin reports whether host is domain (lowercase) or one of its subdomains, in any case.
func hostWithin[T text](host T, domain string) bool {
	if len(host) < len(domain) || !hasPrefixFold(host[len(host)-len(domain):], domain) {
		return false
	}
	return len(host) == len(domain) || host[len(host)-len(domain)-1] == '.'
}

// usAddress says whether an address is in the US, elsewhere, or cannot be told.
type usAddress uint8

const (
	usUnknown usAddress = iota
	usYes
	usNo
)

// addressCountry tells from an address's trimmed country and state whether it is in the US: a
// country the rules name as the US (or one of its territories) is, any other country is not;
// with no country, a US state is, and anything else cannot be told.
func addressCountry[T text](rs *ruleSet, country, state T) usAddress {
	var buf [64]byte
	if len(country) > 0 {
		if len(country) <= len(buf) && rs.usCountries[string(lowerASCII(append(buf[:0], country...)))] {
			return usYes
		}
		return usNo
	}
	if len(state) > 0 && len(state) <= len(buf) && rs.usStates[string(lowerASCII(append(buf[:0], state...)))] {
		return usYes
	}
	return usUnknown
}

// appendZip appends the generalized form of a US ZIP code to dst, as Cumulus writes it: the
// ZIP3 and the other digits zeroed ("02139" → "02100", "02139-4307" → "02100-0000"), with
// "000" for a restricted ZIP3 area. A 4-digit code (or ZIP+4) of an address known to be in the
// US gets its lost leading zero back first ("1060" → "01000"; one that starts with 0 lost
// nothing and is not a ZIP code). ok is false (nothing appended) for anything else,
// and for any postal code of an address in another country.
func appendZip[T text](rs *ruleSet, dst []byte, code T, where usAddress) (out []byte, ok bool) {
	if where == usNo {
		return dst, false
	}
	restore := false
	switch n := len(code); {
	case n == 5 && allDigits(code), n == 9 && allDigits(code):
	case n == 10 && allDigits(code[:5]) && code[5] == '-' && allDigits(code[6:]):
	case where == usYes && n == 4 && code[0] != '0' && allDigits(code):
		restore = true
	case where == usYes && n == 9 && code[0] != '0' && allDigits(code[:4]) && code[4] == '-' && allDigits(code[5:]):
		restore = true
	default:
		return dst, false
	}
	start := len(dst)
	if restore {
		dst = append(dst, '0')
	}
	dst = append(dst, code...)
	zip := dst[start:]
	if rs.restrictedZip3[string(zip[:3])] {
		copy(zip, "000")
	}
	for i := 3; i < len(zip); i++ {
		if isDigit(zip[i]) {
			zip[i] = '0'
		}
	}
	return dst, true
}
