package deid

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
)

// ErrRejected marks a resource that cannot be de-identified safely (for example a reference
// that is an absolute URL, whose id cannot be replaced). The caller must not write it; the error
// text names the field path but never the value, which may be PHI.
var ErrRejected = errors.New("resource rejected by de-identification")

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
	unknownExt map[string]int // extension URL → times cut down to a stub
	skippedMod map[string]int // modifierExtension URL → resources skipped
	mismatch   map[string]int // "Type.field" → values dropped for having an unexpected shape
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
	}, nil
}

// SupportsType reports whether the rules cover resourceType.
func (s *Scrubber) SupportsType(resourceType string) bool {
	return s.rules.resources[resourceType] != nil
}

// UnknownExtensions returns how often each unknown extension URL was cut down to a stub (URLs
// the rules list as expected-and-dropped are not counted). The result is a copy.
func (s *Scrubber) UnknownExtensions() map[string]int { return s.snapshot(s.unknownExt) }

// SkippedModifierExtensions returns, per unknown modifierExtension URL, how many resources were
// skipped because of it. The result is a copy.
func (s *Scrubber) SkippedModifierExtensions() map[string]int { return s.snapshot(s.skippedMod) }

// ShapeMismatches returns, per "Type.field" rule (e.g. "Coding.code"), how many values were
// dropped because their shape did not match the rules: an object or nested array where a
// primitive was expected, a primitive where an object was expected, an extension without url,
// or a contained resource of a type without rules. The result is a copy.
func (s *Scrubber) ShapeMismatches() map[string]int { return s.snapshot(s.mismatch) }

func (s *Scrubber) count(m map[string]int, key string) {
	s.mu.Lock()
	m[key]++
	s.mu.Unlock()
}

func (s *Scrubber) snapshot(m map[string]int) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(m)
}

// skipError unwinds a walk that met an unknown modifierExtension.
type skipError struct{ url string }

func (e *skipError) Error() string { return "unknown modifierExtension " + e.url }

// rejectError unwinds a walk that met a value it cannot make safe. path is collected in reverse
// while unwinding, so no path is built for resources that scrub cleanly.
type rejectError struct {
	path   []string
	reason string
}

func (e *rejectError) Error() string {
	parts := make([]string, len(e.path))
	for i, p := range e.path {
		parts[len(e.path)-1-i] = p
	}
	return fmt.Sprintf("%s: %s: %s", ErrRejected, strings.Join(parts, "."), e.reason)
}

func (e *rejectError) Unwrap() error { return ErrRejected }

// withField adds a field name to an unwinding rejection's path.
func withField(err error, field string) error {
	if rej, ok := err.(*rejectError); ok {
		rej.path = append(rej.path, field)
	}
	return err
}
