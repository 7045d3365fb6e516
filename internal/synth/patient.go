package synth

import (
	"fmt"
	"slices"
	"time"
)

// patient is the context shared by all of one patient's resources.
type patient struct {
	person
	mrn      string
	birth    string
	gender   string
	pcp      person
	org      site
	relative person
	episode  string
}

// patientRecord writes one patient and everything that belongs to them.
func (g *gen) patientRecord() {
	pt := g.patientResource()
	g.episodeOfCare(&pt)
	visits := g.visits(&pt)
	for i, v := range visits {
		g.encounter(&pt, v, i == 0)
	}
	g.allergy(&pt, visits[0])
	if g.deviceDue() || g.chance(0.4) {
		g.device(&pt, visits[0])
	}
	g.carePlan(&pt, visits[0])
	g.inlineNote(&pt, visits[0])
	g.linkedNote(&pt, visits[len(visits)-1])
}

// deviceDue makes sure the very first patient has a Device, so every type has rows.
func (g *gen) deviceDue() bool { return g.out.lines["Device"] == 0 }

// patientResource writes the Patient: names, telecom, identifiers, address, birth date and narrative
// (PHI), US Core race/ethnicity/birth sex (allowed), and unknown extensions carrying names (PHI).
func (g *gen) patientResource() patient {
	gender := pick(g, []string{"female", "male"})
	prefix := map[string]string{"female": "Ms.", "male": "Mr."}[gender]
	pt := patient{person: g.newPerson(prefix, 2), gender: gender}
	pt.mrn = g.p(fmt.Sprintf("Q%08d", g.r.IntN(100_000_000)))
	pt.relative = g.newPerson("Mx.", 1)
	pt.pcp = g.clinician()
	pt.org = pick(g, g.shared.orgs)
	born := g.tx.AddDate(-20-g.r.IntN(70), 0, -g.r.IntN(365))
	pt.birth = g.p(born.Format(layoutDate))
	race, eth := pick(g, races), pick(g, ethnicities)
	ssn := g.p(fmt.Sprintf("999-%02d-%04d", 10+g.r.IntN(90), g.r.IntN(10000)))
	license := g.p(fmt.Sprintf("S99%07d", g.r.IntN(10_000_000)))
	mothersMaiden := g.p(pick(g, givenNames) + " " + pick(g, familyStems) + pick(g, familyEnds))
	favorite := g.p(fmt.Sprintf("Teal, according to %s", pt.given[0]))
	homeNickname := g.p(fmt.Sprintf("%s family home", pt.family))
	g.emit(obj{
		{"resourceType", "Patient"}, {"id", pt.id},
		{"meta", obj{{"profile", []string{"http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"}}}},
		{"text", obj{{"status", "generated"}, {"div", fmt.Sprintf(`<div xmlns="http://www.w3.org/1999/xhtml">%s, DOB %s, MRN %s</div>`, pt.full(), pt.birth, pt.mrn)}}},
		{"extension", arr{
			obj{{"url", extUSCore + "us-core-race"}, {"extension", arr{
				obj{{"url", "ombCategory"}, {"valueCoding", race.coding()}},
				obj{{"url", "text"}, {"valueString", race.display}},
			}}},
			obj{{"url", extUSCore + "us-core-ethnicity"}, {"extension", arr{
				obj{{"url", "ombCategory"}, {"valueCoding", eth.coding()}},
				obj{{"url", "text"}, {"valueString", eth.display}},
			}}},
			obj{{"url", extUSCore + "us-core-birthsex"}, {"valueCode", map[string]string{"female": "F", "male": "M"}[gender]}},
			obj{{"url", extBase + "patient-mothersMaidenName"}, {"valueString", mothersMaiden}},
			obj{{"url", extExample + "favorite-color"}, {"valueString", favorite}},
			obj{{"url", extExample + "emergency-contact"}, {"extension", arr{
				obj{{"url", "name"}, {"valueString", g.p(pt.relative.full())}},
				obj{{"url", "phone"}, {"valueString", g.phone()}},
			}}},
		}},
		{"identifier", arr{
			obj{{"use", "usual"}, {"type", code{sysV20203, "MR", "Medical Record Number"}.cc()}, {"system", sysMRN}, {"value", pt.mrn}},
			obj{{"type", code{sysV20203, "SS", "Social Security Number"}.cc()}, {"system", sysSSN}, {"value", ssn}},
			obj{{"type", code{sysV20203, "DL", "Driver's License"}.cc()}, {"system", "urn:oid:2.16.840.1.113883.4.3.25"}, {"value", license}},
		}},
		{"active", true},
		{"name", arr{humanName(pt.person), obj{{"use", "nickname"}, {"given", []string{g.p(pt.given[0][:4] + "ie")}}}}},
		{"telecom", arr{telecom("phone", g.phone(), "home"), telecom("phone", g.phone(), "mobile"), telecom("email", g.email(pt.person), "home")}},
		{"gender", gender},
		{"birthDate", pt.birth},
		{"address", arr{g.address("home", arr{obj{{"url", extExample + "address-nickname"}, {"valueString", homeNickname}}})}},
		{"maritalStatus", maritalStatus.cc()},
		{"contact", arr{obj{
			{"relationship", arr{code{"http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin"}.cc()}},
			{"name", obj{{"family", pt.relative.family}, {"given", pt.relative.given}}},
			{"telecom", arr{telecom("phone", g.phone(), "mobile")}},
		}}},
		{"communication", arr{obj{{"language", code{"urn:ietf:bcp:47", "en-US", "English (United States)"}.cc()}, {"preferred", true}}}},
		{"generalPractitioner", arr{g.personRef("Practitioner", pt.pcp)}},
		{"managingOrganization", pt.org.ref("Organization")},
	})
	return pt
}

// episodeOfCare writes the patient's care episode.
func (g *gen) episodeOfCare(pt *patient) {
	pt.episode = g.id()
	g.emit(obj{
		{"resourceType", "EpisodeOfCare"}, {"id", pt.episode},
		{"status", "active"},
		{"type", arr{episodeType.cc()}},
		{"patient", g.personRef("Patient", pt.person)},
		{"managingOrganization", pt.org.ref("Organization")},
		{"period", obj{{"start", g.tx.In(clinicalZone).AddDate(-8, 0, 0).Format(layoutDate)}}},
		{"careManager", g.personRef("Practitioner", pt.pcp)},
	})
}

// visit is one encounter's time, place and clinician.
type visit struct {
	id         string
	start, end time.Time
	kind       int // index into encounterTypes
	doc        person
	org        site
	loc        site
}

// visits draws 2 to 4 encounters in time order.
func (g *gen) visits(pt *patient) []visit {
	vs := make([]visit, 2+g.r.IntN(3))
	for i := range vs {
		start := g.clinicalTime()
		kind := g.r.IntN(len(encounterTypes))
		end := start.Add(time.Duration(15+15*g.r.IntN(4)) * time.Minute)
		if encounterClasses[kind].code == "IMP" {
			end = start.AddDate(0, 0, 1+g.r.IntN(4))
		}
		site := g.r.IntN(len(g.shared.orgs))
		vs[i] = visit{id: g.id(), start: start, end: end, kind: kind, doc: g.clinician(),
			org: g.shared.orgs[site], loc: g.shared.locations[site]}
	}
	slices.SortFunc(vs, func(a, b visit) int { return a.start.Compare(b.start) })
	return vs
}

// allergy writes an AllergyIntolerance with a note naming the patient.
func (g *gen) allergy(pt *patient, v visit) {
	a := pick(g, allergies)
	g.emit(obj{
		{"resourceType", "AllergyIntolerance"}, {"id", g.id()},
		{"clinicalStatus", allergyClinical.cc()},
		{"verificationStatus", allergyConfirmed.cc()},
		{"type", "allergy"},
		{"category", []string{pick(g, []string{"food", "medication", "environment"})}},
		{"criticality", "low"},
		{"code", a.cc()},
		{"patient", g.personRef("Patient", pt.person)},
		{"encounter", ref("Encounter", v.id)},
		{"recordedDate", dt(v.start)},
		{"recorder", g.personRef("Practitioner", v.doc)},
		{"note", arr{obj{{"text", g.p(fmt.Sprintf("%s reports hives since childhood; mother %s confirms.", pt.given[0], pt.relative.full()))}}}},
		{"reaction", arr{obj{{"manifestation", arr{pick(g, allergyReactions).cc()}}, {"severity", "mild"}}}},
	})
}

// device writes a Device assigned to the patient.
func (g *gen) device(pt *patient, v visit) {
	d := pick(g, deviceTypes)
	g.emit(obj{
		{"resourceType", "Device"}, {"id", g.id()},
		{"status", "active"},
		{"manufacturer", "Acme Medical Devices"},
		{"lotNumber", fmt.Sprintf("LOT%05d", g.r.IntN(100000))},
		{"deviceName", arr{obj{{"name", d.display}, {"type", "user-friendly-name"}}}},
		{"type", d.cc()},
		{"patient", g.personRef("Patient", pt.person)},
		{"location", v.loc.ref("Location")},
		{"note", arr{obj{{"text", g.p(fmt.Sprintf("Issued to %s at home visit.", pt.full()))}}}},
	})
}

// carePlan writes a CarePlan (a type with no ETL task).
func (g *gen) carePlan(pt *patient, v visit) {
	g.emit(obj{
		{"resourceType", "CarePlan"}, {"id", g.id()},
		{"status", "active"}, {"intent", "plan"},
		{"category", arr{carePlanCategory.cc()}},
		{"subject", g.personRef("Patient", pt.person)},
		{"encounter", ref("Encounter", v.id)},
		{"period", obj{{"start", dt(v.start)}}},
		{"activity", arr{obj{{"detail", obj{{"code", carePlanActivity.cc()}, {"status", "in-progress"}}}}}},
	})
}
