package synth

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestPlantedPHIOccursVerbatimInOutput(t *testing.T) {
	dir, m := generate(t, Options{Patients: 8, Seed: 11})
	var all []byte
	for _, b := range readTree(t, dir) {
		all = append(all, b...)
	}
	if len(m.PlantedPHI) < 100 {
		t.Fatalf("only %d planted PHI strings", len(m.PlantedPHI))
	}
	for _, s := range m.PlantedPHI {
		if !bytes.Contains(all, []byte(s)) {
			t.Errorf("planted PHI %q does not occur in the output", s)
		}
	}
}

// allowedText is every string the generator writes into fields a de-identifier keeps.
func allowedText() string {
	var b strings.Builder
	add := func(cs ...code) {
		for _, c := range cs {
			b.WriteString(c.system + "|" + c.code + "|" + c.display + "\n")
		}
	}
	for _, list := range [][]code{encounterTypes, encounterClasses, conditions, procedures, medications, vaccines,
		allergies, allergyReactions, deviceTypes, noteTypes, specialties, locationTypes, specimenTypes, races, ethnicities} {
		add(list...)
	}
	for _, q := range append(vitals, bpSystolic, bpDiastolic) {
		add(q.code)
	}
	for _, l := range labPanels {
		add(l.panel)
		for _, q := range l.results {
			add(q.code)
		}
	}
	add(bpPanel, socialNote, labCategory, labProcedure, clinicalNote, carePlanCategory, carePlanActivity, episodeType,
		practitionerRole, claimType, maritalStatus, conditionClinical, conditionConfirmed, allergyClinical,
		allergyConfirmed, primaryPerformer)
	for i, o := range orgNames {
		b.WriteString(o + " - " + locationSuffixes[i%len(locationSuffixes)] + "\n")
	}
	b.WriteString("Acme Medical Devices Commonwealth Health Plan Example EHR " + fhirBase + " " + exportURL)
	return b.String()
}

func TestPlantedPHIHasNoFalseHitsInAllowedText(t *testing.T) {
	_, m := generate(t, Options{Patients: 20, Seed: 1})
	allowed := allowedText()
	year := regexp.MustCompile(`^\d{3,4}$`)
	for _, s := range m.PlantedPHI {
		if strings.Contains(allowed, s) {
			t.Errorf("planted PHI %q occurs in codes or names a de-identifier keeps", s)
		}
		if len(s) < 6 || year.MatchString(s) {
			t.Errorf("planted PHI %q is too short or generic to scan for", s)
		}
	}
}

func TestPlantedPHIExcludesAllowedValues(t *testing.T) {
	dir, m := generate(t, Options{Patients: 4, Seed: 5})
	planted := map[string]bool{}
	for _, s := range m.PlantedPHI {
		planted[s] = true
	}
	for _, p := range lines(t, "Patient", readTree(t, dir)["Patient.000.ndjson"]) {
		birth := p["birthDate"].(string)
		addr := p["address"].([]any)[0].(map[string]any)
		zip := addr["postalCode"].(string)
		for _, s := range []string{p["gender"].(string), birth[:4], zip[:3], addr["state"].(string), addr["country"].(string)} {
			if planted[s] {
				t.Errorf("allowed value %q is listed as planted PHI", s)
			}
		}
		for _, s := range []string{birth, zip, addr["line"].([]any)[0].(string), addr["city"].(string)} {
			if !planted[s] {
				t.Errorf("PHI value %q is not listed as planted", s)
			}
		}
	}
}
