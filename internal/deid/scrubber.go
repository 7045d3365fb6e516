package deid

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
)

// ErrUnsupportedType is returned for a resource type that has no rules.
var ErrUnsupportedType = errors.New("no de-identification rules for resource type")

// dataAbsentURL is the core extension that marks a value as deliberately left out.
const dataAbsentURL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

// Outcome says what became of a resource that was not rejected.
type Outcome int

const (
	// Kept means the resource was scrubbed in place and may be written.
	Kept Outcome = iota
	// SkippedModifierExtension means the resource (or one of its elements or contained
	// resources) carries a modifierExtension the rules do not know, which could change the
	// meaning of everything else: the resource must not be written. See
	// Scrubber.SkippedModifierExtensions for the URLs.
	SkippedModifierExtension
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Kept:
		return "kept"
	case SkippedModifierExtension:
		return "skipped: unknown modifierExtension"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Scrubber de-identifies FHIR resources with the embedded allow-list and a Codebook. It is safe
// for concurrent use by many goroutines.
type Scrubber struct {
	cb    *Codebook
	rules *ruleSet

	mu         sync.Mutex
	unknownExt map[string]int // extension URL → times dropped
	skippedMod map[string]int // modifierExtension URL → resources skipped
	mismatch   map[string]int // "Type.field" → values dropped for having an unexpected shape
	dropped    map[string]int // "Type.field: why" → values that could not be de-identified
}

// compiledRules compiles the embedded rules file once; the result is immutable and shared.
var compiledRules = sync.OnceValues(func() (*ruleSet, error) { return compileRules(embeddedRules) })

// NewScrubber compiles the embedded rules file and returns a Scrubber that replaces ids with
// cb's fake ids.
func NewScrubber(cb *Codebook) (*Scrubber, error) {
	if cb == nil {
		return nil, errors.New("deid: NewScrubber needs a codebook")
	}
	rules, err := compiledRules()
	if err != nil {
		return nil, err
	}
	return &Scrubber{
		cb:         cb,
		rules:      rules,
		unknownExt: map[string]int{},
		skippedMod: map[string]int{},
		mismatch:   map[string]int{},
		dropped:    map[string]int{},
	}, nil
}

// SupportsType reports whether the rules cover resourceType.
func (s *Scrubber) SupportsType(resourceType string) bool {
	return s.rules.resources[resourceType] != nil
}

// UnknownExtensions returns how often each unknown extension URL was dropped (URLs the rules
// list as expected-and-dropped are not counted). A part of an allowed extension that its
// definition does not name is counted as "<extension URL> > <part>". URLs are shown quoted when
// they hold unprintable characters and cut short when long, and at most maxReportedURLs are
// told apart. The result is a copy.
func (s *Scrubber) UnknownExtensions() map[string]int { return s.snapshot(s.unknownExt) }

// SkippedModifierExtensions returns, per unknown modifierExtension URL, how many resources were
// skipped because of it (URLs shown as in UnknownExtensions). The result is a copy.
func (s *Scrubber) SkippedModifierExtensions() map[string]int { return s.snapshot(s.skippedMod) }

// ShapeMismatches returns, per "Type.field" rule (e.g. "Coding.code"), how many values were
// dropped because their shape did not match the rules: an object or nested array where a
// primitive was expected, a primitive where an object was expected, an extension without url,
// or a contained resource of a type without rules. The result is a copy.
func (s *Scrubber) ShapeMismatches() map[string]int { return s.snapshot(s.mismatch) }

// DroppedValues returns, per "Type.field: reason", how many values were dropped or masked
// because they could not be de-identified: a birth date that is not a FHIR date, a postal code
// that is not a US ZIP code, a reference that is an absolute URL, a date or number field holding
// something else. The result is a copy.
func (s *Scrubber) DroppedValues() map[string]int { return s.snapshot(s.dropped) }

func (s *Scrubber) count(m map[string]int, key string) {
	s.mu.Lock()
	m[key]++
	s.mu.Unlock()
}

// maxReportedURLs bounds the URLs the extension counters tell apart (URLs are whatever a site
// writes, so their number is not bounded otherwise); the rest are counted together.
const maxReportedURLs = 1000

// otherURLs is the key the URLs past maxReportedURLs are counted under.
const otherURLs = "(other URLs)"

// countURL counts an extension URL under its printable form.
func (s *Scrubber) countURL(m map[string]int, url string) {
	key := printableURL(url)
	s.mu.Lock()
	if _, seen := m[key]; !seen && len(m) >= maxReportedURLs {
		key = otherURLs
	}
	m[key]++
	s.mu.Unlock()
}

// maxURLShown is how much of a URL the report shows.
const maxURLShown = 200

// printableURL returns url as the run report may print it: as is when it is short printable
// ASCII (with no space at either end), otherwise quoted with Go escapes and cut to maxURLShown
// bytes with its length.
func printableURL(url string) string {
	plain := len(url) <= maxURLShown && url == strings.TrimSpace(url)
	for i := 0; plain && i < len(url); i++ {
		plain = url[i] >= ' ' && url[i] < 0x7f
	}
	if plain {
		return url
	}
	cut := url
	if len(cut) > maxURLShown {
		cut = strings.ToValidUTF8(cut[:maxURLShown], "")
	}
	out := strconv.QuoteToASCII(cut)
	if len(cut) < len(url) {
		out += fmt.Sprintf("... (%d bytes)", len(url))
	}
	return out
}

func (s *Scrubber) snapshot(m map[string]int) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(m)
}

// skipError unwinds a walk that met an unknown modifierExtension.
type skipError struct{ url string }

func (e *skipError) Error() string { return "unknown modifierExtension " + e.url }
