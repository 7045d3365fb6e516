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
// without being an error, or an error wrapping ErrRejected (unsafe content) or
// ErrUnsupportedType. After a skip or an error, res is partly scrubbed and must be discarded.
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
			s.count(s.skippedMod, skip.url)
			return SkippedModifierExtension, nil
		}
		var rej *rejectError
		if errors.As(err, &rej) {
			rej.path = append(rej.path, rt)
		}
		return Kept, err
	}
	return Kept, nil
}

// anonRef replaces the id inside a reference with its fake id. Only forms whose id can be
// found are accepted: "Type/id" (a version suffix "/_history/v" is dropped), "#contained", and a
// bare id with a sibling "type". Anything else rejects the resource; the error never repeats the
// value, which may be PHI.
func (w *walker) anonRef(m map[string]any, ref string) (string, error) {
	typ, id, err := splitRef(ref, func() string { s, _ := m["type"].(string); return strings.TrimSpace(s) })
	if err != nil {
		return "", err
	}
	if typ == "" {
		return w.s.cb.fakeRef("#", "", id), nil
	}
	return w.s.cb.fakeRef(typ+"/", typ, id), nil
}

// zip generalizes a US ZIP or ZIP+4 code to its first three digits followed by "00", or to
// "00000" in a restricted ZIP3 area. Anything that is not a US ZIP code is dropped.
func (rs *ruleSet) zip(s string) (string, bool) {
	ok, restricted := zipArea(rs, s)
	switch {
	case !ok:
		return "", false
	case restricted:
		return "00000", true
	}
	return s[:3] + "00", true
}
