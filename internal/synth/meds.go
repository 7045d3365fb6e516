package synth

import (
	"fmt"
	"time"
)

// medicationOrder writes a MedicationRequest and usually its MedicationDispense. The drug is given
// as a code, a reference to a shared Medication, or (always in a full encounter) a contained
// Medication referenced as "#med1". Dosage text and patient instructions name the patient (PHI).
func (g *gen) medicationOrder(pt *patient, v visit, cond string, full bool) {
	i := g.r.IntN(len(medications))
	med := medications[i]
	mode := g.r.IntN(2)
	if full {
		mode = 2
	}
	req := obj{{"resourceType", "MedicationRequest"}, {"id", g.id()}}
	switch mode {
	case 0:
		req = append(req, field{"status", "completed"}, field{"intent", "order"}, field{"medicationCodeableConcept", med.cc()})
	case 1:
		req = append(req, field{"status", "active"}, field{"intent", "order"},
			field{"medicationReference", obj{{"reference", "Medication/" + g.shared.meds[i]}, {"display", med.display}}})
	default:
		req = append(req[:2], field{"contained", arr{obj{{"resourceType", "Medication"}, {"id", "med1"}, {"code", med.cc()}, {"status", "active"}}}},
			field{"status", "active"}, field{"intent", "order"}, field{"medicationReference", obj{{"reference", "#med1"}}})
	}
	req = append(req,
		field{"subject", ref("Patient", pt.id)},
		field{"encounter", ref("Encounter", v.id)},
		field{"authoredOn", dt(v.start)},
		field{"requester", g.personRef("Practitioner", v.doc)},
	)
	if cond != "" {
		req = append(req, field{"reasonReference", arr{ref("Condition", cond)}})
	}
	req = append(req,
		field{"note", arr{obj{{"text", g.p(fmt.Sprintf("Pharmacy to call %s at home if refill is late.", pt.relative.full()))}}}},
		field{"dosageInstruction", arr{g.dosage(pt, true)}},
		field{"dispenseRequest", obj{
			{"validityPeriod", obj{{"start", dt(v.start)}, {"end", dt(v.start.AddDate(1, 0, 0))}}},
			{"numberOfRepeatsAllowed", g.r.IntN(4)},
			{"quantity", obj{{"value", 30.0}, {"unit", "{tbl}"}, {"system", sysUCUM}, {"code", "{tbl}"}}},
			{"expectedSupplyDuration", obj{{"value", 30.0}, {"unit", "days"}, {"system", sysUCUM}, {"code", "d"}}},
		}},
	)
	g.emit(req)
	if full || g.chance(0.5) {
		g.dispense(pt, v, med, req[1].v.(string))
	}
}

// dosage returns a once-daily oral Dosage whose text (and, if instruct, patientInstruction) names the patient.
func (g *gen) dosage(pt *patient, instruct bool) obj {
	d := obj{
		{"sequence", 1},
		{"text", g.p(fmt.Sprintf("Take 1 tablet by mouth once daily. Reviewed with %s.", pt.full()))},
	}
	if instruct {
		d = append(d, field{"patientInstruction", g.p(fmt.Sprintf("%s, take this with breakfast.", pt.given[0]))})
	}
	return append(d,
		field{"timing", obj{{"repeat", obj{{"frequency", 1}, {"period", 1.0}, {"periodUnit", "d"}}}}},
		field{"route", code{sysSNOMED, "26643006", "Oral route"}.cc()},
		field{"doseAndRate", arr{obj{{"doseQuantity", obj{{"value", 1.0}, {"unit", "tablet"}, {"system", sysUCUM}, {"code", "{tbl}"}}}}}},
	)
}

// dispense writes the MedicationDispense that fills a request.
func (g *gen) dispense(pt *patient, v visit, med code, requestID string) {
	handed := v.end.Add(time.Duration(2+g.r.IntN(20)) * time.Hour)
	g.emit(obj{
		{"resourceType", "MedicationDispense"}, {"id", g.id()},
		{"status", "completed"},
		{"medicationCodeableConcept", med.cc()},
		{"subject", ref("Patient", pt.id)},
		{"context", ref("Encounter", v.id)},
		{"performer", arr{obj{{"actor", g.personRef("Practitioner", v.doc)}}}},
		{"authorizingPrescription", arr{ref("MedicationRequest", requestID)}},
		{"quantity", obj{{"value", 30.0}, {"unit", "{tbl}"}, {"system", sysUCUM}, {"code", "{tbl}"}}},
		{"daysSupply", obj{{"value", 30.0}, {"unit", "days"}, {"system", sysUCUM}, {"code", "d"}}},
		{"whenHandedOver", dt(handed)},
		{"dosageInstruction", arr{g.dosage(pt, false)}},
		{"note", arr{obj{{"text", g.p(fmt.Sprintf("Picked up by %s.", pt.relative.full()))}}}},
	})
}
