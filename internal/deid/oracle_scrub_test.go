package deid

// The map scrubber: Scrubber.Scrub works on a decoded JSON map. It is the reference
// implementation the tests hold ScrubJSON (the byte scrubber the ETL runs) to: the golden and
// rule tests pin Scrub's output, and the differential and fuzz tests require ScrubJSON to agree
// with it on every input. It lives in test files because the program itself never calls it.

import (
	"errors"
	"fmt"
	"strings"
)

// Scrub de-identifies res in place: every field the rules do not allow is removed, ids and
// references are replaced by fake ids, dates and ZIP codes are generalized. res must be a
// resource decoded from JSON (decoding numbers with UseNumber is fine).
//
// It returns Kept when res may be written, SkippedModifierExtension when it must be dropped
// without being an error, or an error wrapping ErrUnsupportedType. After a skip or an error, res
// is partly scrubbed and must be discarded. Repeated keys cannot be seen in a decoded map: the
// caller rejects such lines before decoding them (see mapScrub).
func (s *Scrubber) Scrub(res map[string]any) (Outcome, error) {
	rt, _ := res["resourceType"].(string)
	n := s.rules.resources[rt]
	if n == nil {
		return Kept, fmt.Errorf("deid: %w %q", ErrUnsupportedType, rt)
	}
	w := walker{s: s, resType: rt}
	if _, err := w.object(res, n); err != nil {
		var skip *skipError
		if errors.As(err, &skip) {
			s.countURL(s.skippedMod, skip.url)
			return SkippedModifierExtension, nil
		}
		return Kept, err
	}
	return Kept, nil
}

// anonRef replaces the id inside a reference with its fake id; ok is false for a form whose id
// cannot be found (see splitRef), which the caller masks.
func (w *walker) anonRef(m map[string]any, ref string) (string, bool) {
	typ, id, ok := splitRef(ref, func() string { s, _ := m["type"].(string); return strings.TrimSpace(s) })
	switch {
	case !ok:
		return "", false
	case typ == "":
		return w.s.cb.fakeRef("#", "", id), true
	}
	return w.s.cb.fakeRef(typ+"/", typ, id), true
}

// zip generalizes the postal code of address m (see appendZip); ok is false when it must go.
func (rs *ruleSet) zip(m map[string]any, code string) (string, usAddress, bool) {
	country, _ := m["country"].(string)
	state, _ := m["state"].(string)
	where := addressCountry(rs, strings.TrimSpace(country), strings.TrimSpace(state))
	out, ok := appendZip(rs, nil, code, where)
	return string(out), where, ok
}
