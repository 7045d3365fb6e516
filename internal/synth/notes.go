package synth

import (
	"encoding/base64"
	"fmt"
)

// inlineNote writes a DocumentReference whose text/plain attachment carries the note inline as
// base64 data; the note mentions the patient's name, MRN and birth date. The base64 string, title
// and description are PHI.
func (g *gen) inlineNote(pt *patient, v visit) {
	typ := noteTypes[0]
	text := fmt.Sprintf("%s\n\nPatient: %s    MRN: %s    DOB: %s\nDate of service: %s\nProvider: %s\n\n"+
		"Chief complaint: follow-up visit.\nHPI: %s is seen today with %s. Symptoms improved since the last visit.\n"+
		"Assessment/Plan: continue current medications; return in 3 months.\n",
		typ.display, pt.full(), pt.mrn, pt.birth, v.start.Format(layoutDate), v.doc.display(), pt.display(), pt.relative.full())
	attachment := obj{
		{"contentType", "text/plain"},
		{"language", "en-US"},
		{"data", g.p(base64.StdEncoding.EncodeToString([]byte(text)))},
		{"title", g.p(fmt.Sprintf("%s for %s", typ.display, pt.full()))},
		{"creation", dt(v.end)},
	}
	g.note(pt, v, typ, attachment)
}

// linkedNote writes a DocumentReference whose text/html attachment points at Binary/<id> by url.
func (g *gen) linkedNote(pt *patient, v visit) {
	typ := noteTypes[1+g.r.IntN(len(noteTypes)-1)]
	attachment := obj{
		{"contentType", "text/html"},
		{"url", "Binary/" + g.id()},
		{"title", g.p(fmt.Sprintf("%s - %s", typ.display, pt.display()))},
		{"creation", dt(v.end)},
	}
	g.note(pt, v, typ, attachment)
}

// note writes a clinical-note DocumentReference with the given attachment.
func (g *gen) note(pt *patient, v visit, typ code, attachment obj) {
	g.emit(obj{
		{"resourceType", "DocumentReference"}, {"id", g.id()},
		{"status", "current"}, {"docStatus", "final"},
		{"type", typ.cc()},
		{"category", arr{clinicalNote.cc()}},
		{"subject", g.personRef("Patient", pt.person)},
		{"date", v.end.Format(layoutInstant)},
		{"author", arr{g.personRef("Practitioner", v.doc)}},
		{"custodian", v.org.ref("Organization")},
		{"description", g.p(fmt.Sprintf("%s written by %s", typ.display, v.doc.display()))},
		{"content", arr{obj{{"attachment", attachment}}}},
		{"context", obj{{"encounter", arr{ref("Encounter", v.id)}}, {"period", period(v.start, v.end)}}},
	})
}
