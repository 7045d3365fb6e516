package synth

import (
	"fmt"
	"strings"
	"time"
)

// encounter writes one Encounter with its Claim and clinical resources. A full encounter (each
// patient's first) has one of every kind, so even a one-patient export has every resource type.
func (g *gen) encounter(pt *patient, v visit, full bool) {
	enc := obj{
		{"resourceType", "Encounter"}, {"id", v.id},
		{"status", "finished"},
		{"class", encounterClasses[v.kind].coding()},
		{"type", arr{encounterTypes[v.kind].cc()}},
		{"subject", g.personRef("Patient", pt.person)},
		{"episodeOfCare", arr{ref("EpisodeOfCare", pt.episode)}},
		{"participant", arr{obj{
			{"type", arr{primaryPerformer.cc()}},
			{"period", period(v.start, v.end)},
			{"individual", g.personRef("Practitioner", v.doc)},
		}}},
		{"period", period(v.start, v.end)},
		{"location", arr{obj{{"location", v.loc.ref("Location")}}}},
		{"serviceProvider", v.org.ref("Organization")},
	}
	if full || g.chance(0.3) {
		companion := obj{{"url", extExample + "visit-companion"}, {"valueString", g.p("Accompanied by " + pt.relative.full())}}
		enc = append(enc[:2], append(obj{{"extension", arr{companion}}}, enc[2:]...)...)
	}
	g.emit(enc)
	g.claim(pt, v)
	var cond string
	if full || g.chance(0.4) {
		cond = g.condition(pt, v, full)
	}
	g.vitalSigns(pt, v, full)
	if full || g.chance(0.3) {
		g.procedure(pt, v, cond)
	}
	if full || g.chance(0.3) {
		g.immunization(pt, v)
	}
	if full || g.chance(0.4) {
		g.medicationOrder(pt, v, cond, full)
	}
	if full || g.chance(0.3) {
		g.labOrder(pt, v)
	}
}

// period returns a Period.
func period(start, end time.Time) obj { return obj{{"start", dt(start)}, {"end", dt(end)}} }

// markDeleted lists typ/id in the deleted Bundle if fewer than max of typ are listed yet.
func (g *gen) markDeleted(typ, id string, max int) {
	n := 0
	for _, d := range g.deleted {
		if strings.HasPrefix(d, typ+"/") {
			n++
		}
	}
	if n < max {
		g.deleted = append(g.deleted, typ+"/"+id)
	}
}

// claim writes a professional Claim for the encounter (a type with no ETL task).
func (g *gen) claim(pt *patient, v visit) {
	g.emit(obj{
		{"resourceType", "Claim"}, {"id", g.id()},
		{"status", "active"},
		{"type", claimType.cc()},
		{"use", "claim"},
		{"patient", g.personRef("Patient", pt.person)},
		{"billablePeriod", period(v.start, v.end)},
		{"created", dt(v.end)},
		{"provider", v.org.ref("Organization")},
		{"priority", code{"http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal"}.cc()},
		{"insurance", arr{obj{{"sequence", 1}, {"focal", true}, {"coverage", obj{{"display", "Commonwealth Health Plan"}}}}}},
		{"item", arr{obj{{"sequence", 1}, {"productOrService", encounterTypes[v.kind].cc()}, {"encounter", arr{ref("Encounter", v.id)}}}}},
		{"total", obj{{"value", g.between(80, 900)}, {"currency", "USD"}}},
	})
}

// condition writes an encounter diagnosis and returns its id. The first condition of a patient also
// carries an Epic site-specific coding whose code and display hold the patient's name (PHI).
func (g *gen) condition(pt *patient, v visit, full bool) string {
	id := g.id()
	c := pick(g, conditions)
	codings := arr{c.coding()}
	if full {
		codings = append(codings, obj{{"system", sysEpicLocal},
			{"code", g.p(strings.ToUpper(pt.family) + "-" + strings.ToUpper(pt.given[0]) + "-DX")},
			{"display", g.p(fmt.Sprintf("Dx entered for %s by %s", pt.full(), v.doc.full()))}})
	}
	res := obj{
		{"resourceType", "Condition"}, {"id", id},
		{"clinicalStatus", conditionClinical.cc()},
		{"verificationStatus", conditionConfirmed.cc()},
		{"category", arr{code{"http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis"}.cc()}},
		{"code", obj{{"coding", codings}, {"text", c.display}}},
		{"subject", ref("Patient", pt.id)},
		{"encounter", ref("Encounter", v.id)},
		{"onsetDateTime", dt(v.start)},
		{"recordedDate", dt(v.start)},
		{"recorder", g.personRef("Practitioner", v.doc)},
	}
	if full || g.chance(0.5) {
		res = append(res, field{"note", arr{obj{{"text", g.p(fmt.Sprintf("Discussed diagnosis with %s and %s.", pt.full(), pt.relative.full()))}}}})
	}
	g.emit(res)
	g.markDeleted("Condition", id, 2)
	return id
}

// vitalSigns writes a blood pressure panel and one other vital sign; a full encounter adds a
// social-history Observation whose valueString names a relative (PHI).
func (g *gen) vitalSigns(pt *patient, v visit, full bool) {
	vital := func(c code, value obj) obj {
		return obj{
			{"resourceType", "Observation"}, {"id", g.id()},
			{"status", "final"},
			{"category", arr{code{sysObsCat, "vital-signs", "Vital Signs"}.cc()}},
			{"code", c.cc()},
			{"subject", ref("Patient", pt.id)},
			{"encounter", ref("Encounter", v.id)},
			{"effectiveDateTime", dt(v.start)},
			{"issued", v.start.Add(10 * time.Minute).Format(layoutInstant)},
			{"performer", arr{g.personRef("Practitioner", v.doc)}},
			{value[0].k, value[0].v},
		}
	}
	bp := vital(bpPanel, obj{{"component", arr{
		obj{{"code", bpSystolic.cc()}, {"valueQuantity", g.quantity(bpSystolic)}},
		obj{{"code", bpDiastolic.cc()}, {"valueQuantity", g.quantity(bpDiastolic)}},
	}}})
	g.emit(bp)
	g.markDeleted("Observation", bp[1].v.(string), 1)
	q := pick(g, vitals)
	g.emit(vital(q.code, obj{{"valueQuantity", g.quantity(q)}}))
	if full {
		social := vital(socialNote, obj{{"valueString", g.p(fmt.Sprintf("Lives with %s, who helps with medications.", pt.relative.full()))}})
		social[3] = field{"category", arr{code{sysObsCat, "social-history", "Social History"}.cc()}}
		g.emit(social)
	}
}

// quantity returns a valueQuantity within q's range.
func (g *gen) quantity(q quantityCode) obj {
	return obj{{"value", g.between(q.min, q.max)}, {"unit", q.unit}, {"system", sysUCUM}, {"code", q.unit}}
}

// procedure writes a Procedure with a performer display and a note (PHI).
func (g *gen) procedure(pt *patient, v visit, cond string) {
	res := obj{
		{"resourceType", "Procedure"}, {"id", g.id()},
		{"status", "completed"},
		{"code", pick(g, procedures).cc()},
		{"subject", ref("Patient", pt.id)},
		{"encounter", ref("Encounter", v.id)},
		{"performedPeriod", period(v.start, v.end)},
		{"performer", arr{obj{{"actor", g.personRef("Practitioner", v.doc)}}}},
		{"location", v.loc.ref("Location")},
	}
	if cond != "" {
		res = append(res, field{"reasonReference", arr{ref("Condition", cond)}})
	}
	res = append(res, field{"note", arr{obj{{"text", g.p(fmt.Sprintf("%s tolerated the procedure well.", pt.display()))}}}})
	g.emit(res)
}

// immunization writes an Immunization.
func (g *gen) immunization(pt *patient, v visit) {
	g.emit(obj{
		{"resourceType", "Immunization"}, {"id", g.id()},
		{"status", "completed"},
		{"vaccineCode", pick(g, vaccines).cc()},
		{"patient", ref("Patient", pt.id)},
		{"encounter", ref("Encounter", v.id)},
		{"occurrenceDateTime", dt(v.start)},
		{"primarySource", true},
		{"location", v.loc.ref("Location")},
		{"lotNumber", fmt.Sprintf("%c%c%04d", 'K'+g.r.IntN(10), 'K'+g.r.IntN(10), g.r.IntN(10000))},
		{"performer", arr{obj{{"actor", g.personRef("Practitioner", v.doc)}}}},
		{"note", arr{obj{{"text", g.p(fmt.Sprintf("Consent given by %s.", pt.full()))}}}},
	})
}
