package synth

import (
	"fmt"
	"time"
)

// labOrder writes a lab ServiceRequest, the Specimen collected for it, one Observation per result
// and the DiagnosticReport that gathers them.
func (g *gen) labOrder(pt *patient, v visit) {
	lab := pick(g, labPanels)
	orderID, specimenID := g.id(), g.id()
	collected := v.start.Add(20 * time.Minute)
	issued := collected.Add(time.Duration(2+g.r.IntN(30)) * time.Hour)
	g.emit(obj{
		{"resourceType", "ServiceRequest"}, {"id", orderID},
		{"status", "completed"}, {"intent", "order"},
		{"category", arr{labProcedure.cc()}},
		{"code", lab.panel.cc()},
		{"subject", ref("Patient", pt.id)},
		{"encounter", ref("Encounter", v.id)},
		{"occurrenceDateTime", dt(collected)},
		{"authoredOn", dt(v.start)},
		{"requester", g.personRef("Practitioner", v.doc)},
		{"patientInstruction", g.p(fmt.Sprintf("%s should fast after midnight.", pt.full()))},
	})
	g.emit(obj{
		{"resourceType", "Specimen"}, {"id", specimenID},
		{"accessionIdentifier", obj{{"system", "urn:oid:1.2.840.114350.1.13.0.1.7.3.688884.100"}, {"value", g.p(fmt.Sprintf("ACC-%07d", g.r.IntN(10_000_000)))}}},
		{"status", "available"},
		{"type", pick(g, specimenTypes).cc()},
		{"subject", ref("Patient", pt.id)},
		{"receivedTime", dt(collected.Add(time.Hour))},
		{"request", arr{ref("ServiceRequest", orderID)}},
		{"collection", obj{{"collector", g.personRef("Practitioner", v.doc)}, {"collectedDateTime", dt(collected)}}},
	})
	var results arr
	for _, q := range lab.results {
		id := g.id()
		g.emit(obj{
			{"resourceType", "Observation"}, {"id", id},
			{"basedOn", arr{ref("ServiceRequest", orderID)}},
			{"status", "final"},
			{"category", arr{code{sysObsCat, "laboratory", "Laboratory"}.cc()}},
			{"code", q.cc()},
			{"subject", ref("Patient", pt.id)},
			{"encounter", ref("Encounter", v.id)},
			{"effectiveDateTime", dt(collected)},
			{"issued", issued.Format(layoutInstant)},
			{"valueQuantity", g.quantity(q)},
			{"specimen", ref("Specimen", specimenID)},
		})
		results = append(results, obj{{"reference", "Observation/" + id}, {"display", q.display}})
	}
	g.emit(obj{
		{"resourceType", "DiagnosticReport"}, {"id", g.id()},
		{"basedOn", arr{ref("ServiceRequest", orderID)}},
		{"status", "final"},
		{"category", arr{labCategory.cc()}},
		{"code", lab.panel.cc()},
		{"subject", ref("Patient", pt.id)},
		{"encounter", ref("Encounter", v.id)},
		{"effectiveDateTime", dt(collected)},
		{"issued", issued.Format(layoutInstant)},
		{"performer", arr{v.org.ref("Organization")}},
		{"resultsInterpreter", arr{g.personRef("Practitioner", v.doc)}},
		{"specimen", arr{ref("Specimen", specimenID)}},
		{"result", results},
		{"conclusion", g.p(fmt.Sprintf("Results reviewed with %s by phone.", pt.display()))},
	})
}
