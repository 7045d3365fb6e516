package deid

// The decisions both scrubbers share: what a kept value must look like, and which definition an
// extension is scrubbed with. The reasons name DroppedValues' counters.
const (
	whyRefMasked     = "reference that cannot be de-identified (absolute URL, URN or no type), masked"
	whyNotFHIRDate   = "not a FHIR date"
	whyNotDate       = "not a date or time"
	whyNotNumber     = "not a number"
	whyNotZip        = "not a US ZIP code"
	whyForeignPostal = "postal code of an address outside the US"
)

// classRefuses returns why a primitive cannot be kept as a value of class c ("" if it can): a
// number field holds only JSON numbers, a date field only dates and times (s is the trimmed
// string, when isStr).
func classRefuses[T text](c class, isNumber, isStr bool, s T) string {
	switch c {
	case classNumber:
		if !isNumber {
			return whyNotNumber
		}
	case classDate:
		if !isStr || !dateLike(s) {
			return whyNotDate
		}
	}
	return ""
}

func whyZip(where usAddress) string {
	if where == usNo {
		return whyForeignPostal
	}
	return whyNotZip
}

// extensionDefinition returns the definition an extension with this url is scrubbed with, or nil
// when it must be dropped: inside an allowed extension (parent), a relative URL is one of its
// parts; an absolute URL must be one the rules allow.
func extensionDefinition[T text](rs *ruleSet, url T, parent *node) *node {
	if indexByte(url, ':') >= 0 {
		return rs.extensions[string(url)]
	}
	if parent == nil {
		return nil
	}
	if parent.anyPart != nil {
		return parent.anyPart
	}
	return parent.parts[string(url)]
}

// unknownName is how a dropped extension is reported: its URL, or for a part of an allowed
// extension that its definition does not name, "<extension URL> > <part>".
func unknownName[T text](url T, parent *node) string {
	if indexByte(url, ':') < 0 && parent != nil {
		return parent.name + " > " + string(url)
	}
	return string(url)
}
