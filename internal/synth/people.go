package synth

import (
	"fmt"
	"strings"
)

// Name and place pools. They are invented and odd-looking on purpose: a leak test scans
// de-identified output for these strings, so none may occur in codes, displays or organization names.
var (
	givenNames = []string{
		"Ardith", "Odalys", "Thessaly", "Corvina", "Mireldo", "Quenby", "Ysolde", "Fenwick", "Brisalind",
		"Evander", "Giselric", "Hollisant", "Isadorne", "Jorvath", "Kestrelle", "Lucaniel", "Marisette",
		"Nerissa", "Oswindle", "Perpetua", "Ramsford", "Severind", "Tamsinne", "Ulricka", "Veritane",
		"Wystanley", "Xanthea", "Yardlow", "Zephyrine", "Aldricka", "Bexandra", "Caspianne",
	}
	familyStems = []string{
		"Quim", "Marrow", "Thistle", "Brack", "Orvend", "Halver", "Zellin", "Pellin", "Wroxe", "Dunmar",
		"Keswid", "Fennimore", "Gorvath", "Lindqu", "Ombrel", "Tressid", "Vantwer", "Yelvert",
	}
	familyEnds = []string{
		"bley", "feld", "waite", "stone", "ridge", "holt", "worth", "ington", "hardt", "wick", "combe", "sley",
	}
	streetStems = []string{
		"Marrowfield", "Quillon", "Tamberly", "Oxhallow", "Wendlebrook", "Pippinreach", "Gossamere",
		"Larkspurrow", "Brindlecott", "Elderwhistle", "Fallowmere", "Hawberrow",
	}
	streetKinds = []string{"Lane", "Road", "Court", "Terrace", "Way", "Street", "Circle"}
	cities      = []string{
		"Quillonbury", "Tamberly Falls", "Oxhallow Junction", "Wendlebrook Mills", "Pippinreach",
		"Gossmoorton", "Larkhavenport", "Brindlecombe Center", "Elderwhistle Heights", "Fallowmere Village",
	}
	// zipAreas pairs a ZIP code with its state; 036 and 059 are HIPAA-restricted ZIP3s.
	zipAreas = []struct{ zip, state string }{
		{"03601", "NH"}, {"05901", "VT"}, {"01027", "MA"}, {"02139", "MA"}, {"01840", "MA"}, {"02601", "MA"},
	}
	orgNames = []string{
		"North Shore Community Hospital", "Riverbend Family Health Center", "Summit Valley Medical Group",
	}
	locationSuffixes = []string{"Main Campus", "Emergency Department", "Outpatient Clinic"}
)

// person is a named human: a patient, relative or clinician.
type person struct {
	id     string
	prefix string
	given  []string
	family string
}

// full returns "Given Family".
func (p person) full() string { return p.given[0] + " " + p.family }

// display returns "Prefix Given Family", as EHRs put it in Reference.display.
func (p person) display() string { return p.prefix + " " + p.full() }

// newPerson draws a person with nGiven given names and records each name part as PHI.
func (g *gen) newPerson(prefix string, nGiven int) person {
	p := person{id: g.id(), prefix: prefix, family: g.p(pick(g, familyStems) + pick(g, familyEnds))}
	for range nGiven {
		p.given = append(p.given, g.p(pick(g, givenNames)))
	}
	return p
}

// humanName returns the person's official HumanName.
func humanName(p person) obj {
	return obj{{"use", "official"}, {"family", p.family}, {"given", p.given}, {"prefix", []string{p.prefix}}}
}

// personRef returns a Reference to the person with their name as display, recorded as PHI.
func (g *gen) personRef(typ string, p person) obj {
	return obj{{"reference", typ + "/" + p.id}, {"display", g.p(p.display())}}
}

// address returns a US address; line, city and the full ZIP+4 are recorded as PHI, state and country are not.
// extra, if non-nil, is added as the address's extension list.
func (g *gen) address(use string, extra arr) obj {
	area := pick(g, zipAreas)
	line := g.p(fmt.Sprintf("%d %s %s", 100+g.r.IntN(9800), pick(g, streetStems), pick(g, streetKinds)))
	zip := g.p(fmt.Sprintf("%s-%04d", area.zip, 1000+g.r.IntN(9000)))
	o := obj{{"use", use}, {"line", []string{line}}, {"city", g.p(pick(g, cities))}, {"state", area.state},
		{"postalCode", zip}, {"country", "US"}}
	if extra != nil {
		o = append(obj{{"extension", extra}}, o...)
	}
	return o
}

// phone returns a 555 telephone number, recorded as PHI.
func (g *gen) phone() string {
	return g.p(fmt.Sprintf("555-%03d-%04d", 200+g.r.IntN(800), g.r.IntN(10000)))
}

// telecom returns a ContactPoint.
func telecom(system, value, use string) obj {
	return obj{{"system", system}, {"value", value}, {"use", use}}
}

// email returns an address built from the person's name, recorded as PHI.
func (g *gen) email(p person) string {
	return g.p(fmt.Sprintf("%s.%s%d@example.net", strings.ToLower(p.given[0]), strings.ToLower(p.family), g.r.IntN(100)))
}

// pick returns a random element of xs.
func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }
