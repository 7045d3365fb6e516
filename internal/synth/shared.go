package synth

import "fmt"

// site is an Organization or Location: allowed name, PHI address and phone.
type site struct {
	id, name string
}

// ref returns a Reference to the site with its (non-PHI) name as display.
func (s site) ref(typ string) obj {
	return obj{{"reference", typ + "/" + s.id}, {"display", s.name}}
}

// shared holds the resources that patients' records point at.
type shared struct {
	orgs      []site
	locations []site // locations[i] belongs to orgs[i]
	clinician []person
	meds      []string // Medication ids, lined up with medications
}

// sharedResources writes Organizations, Locations, Practitioners, PractitionerRoles and Medications.
func (g *gen) sharedResources() {
	for i, name := range orgNames {
		org := site{id: g.id(), name: name}
		g.shared.orgs = append(g.shared.orgs, org)
		g.emit(obj{
			{"resourceType", "Organization"}, {"id", org.id},
			{"identifier", arr{obj{{"system", sysNPI}, {"value", g.npi()}}}},
			{"active", true},
			{"type", arr{code{"http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider"}.cc()}},
			{"name", name},
			{"telecom", arr{telecom("phone", g.phone(), "work")}},
			{"address", arr{g.address("work", nil)}},
		})
		loc := site{id: g.id(), name: name + " - " + locationSuffixes[i%len(locationSuffixes)]}
		g.shared.locations = append(g.shared.locations, loc)
		g.emit(obj{
			{"resourceType", "Location"}, {"id", loc.id},
			{"status", "active"}, {"name", loc.name}, {"mode", "instance"},
			{"type", arr{locationTypes[i%len(locationTypes)].cc()}},
			{"telecom", arr{telecom("phone", g.phone(), "work")}},
			{"address", g.address("work", nil)},
			{"managingOrganization", org.ref("Organization")},
		})
	}
	for i := range 3 + g.patients/10 {
		g.practitioner(i)
	}
	for _, m := range medications {
		id := g.id()
		g.shared.meds = append(g.shared.meds, id)
		g.emit(obj{{"resourceType", "Medication"}, {"id", id}, {"code", m.cc()}, {"status", "active"}})
	}
}

// practitioner writes the i-th Practitioner and their PractitionerRole.
func (g *gen) practitioner(i int) {
	doc := g.newPerson("Dr.", 1)
	g.shared.clinician = append(g.shared.clinician, doc)
	org, loc := g.shared.orgs[i%len(g.shared.orgs)], g.shared.locations[i%len(g.shared.locations)]
	g.emit(obj{
		{"resourceType", "Practitioner"}, {"id", doc.id},
		{"identifier", arr{obj{{"system", sysNPI}, {"value", g.npi()}}}},
		{"active", true},
		{"name", arr{humanName(doc)}},
		{"telecom", arr{telecom("phone", g.phone(), "work"), telecom("email", g.email(doc), "work")}},
		{"address", arr{g.address("work", nil)}},
		{"gender", pick(g, []string{"female", "male"})},
	})
	g.emit(obj{
		{"resourceType", "PractitionerRole"}, {"id", g.id()},
		{"active", true},
		{"practitioner", g.personRef("Practitioner", doc)},
		{"organization", org.ref("Organization")},
		{"code", arr{practitionerRole.cc()}},
		{"specialty", arr{specialties[i%len(specialties)].cc()}},
		{"location", arr{loc.ref("Location")}},
		{"telecom", arr{telecom("phone", g.phone(), "work")}},
	})
}

// npi returns a 10-digit National Provider Identifier (public, not PHI).
func (g *gen) npi() string { return fmt.Sprintf("1%09d", g.r.IntN(1_000_000_000)) }

// clinician returns a random Practitioner.
func (g *gen) clinician() person { return pick(g, g.shared.clinician) }
