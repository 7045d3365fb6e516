package synth

// Code systems used in the generated data.
const (
	sysSNOMED    = "http://snomed.info/sct"
	sysLOINC     = "http://loinc.org"
	sysRxNorm    = "http://www.nlm.nih.gov/research/umls/rxnorm"
	sysCVX       = "http://hl7.org/fhir/sid/cvx"
	sysUCUM      = "http://unitsofmeasure.org"
	sysActCode   = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysObsCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysV20074    = "http://terminology.hl7.org/CodeSystem/v2-0074"
	sysV20203    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysV20487    = "http://terminology.hl7.org/CodeSystem/v2-0487"
	sysNUCC      = "http://nucc.org/provider-taxonomy"
	sysRoleCode  = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	sysNPI       = "http://hl7.org/fhir/sid/us-npi"
	sysSSN       = "http://hl7.org/fhir/sid/us-ssn"
	sysMRN       = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
	sysEpicLocal = "urn:oid:1.2.840.114350.1.13.0.1.7.2.657369"
	sysOMBRace   = "urn:oid:2.16.840.1.113883.6.238"
	extBase      = "http://hl7.org/fhir/StructureDefinition/"
	extUSCore    = "http://hl7.org/fhir/us/core/StructureDefinition/"
	extExample   = "http://example.org/fhir/StructureDefinition/"
)

// code is one coded concept.
type code struct{ system, code, display string }

// coding returns the concept as a FHIR Coding.
func (c code) coding() obj {
	return obj{{"system", c.system}, {"code", c.code}, {"display", c.display}}
}

// cc returns the concept as a CodeableConcept whose text repeats the display.
func (c code) cc() obj {
	return obj{{"coding", arr{c.coding()}}, {"text", c.display}}
}

// quantityCode is an Observation code with its UCUM unit and a plausible value range.
type quantityCode struct {
	code
	unit     string
	min, max float64
}

var (
	encounterTypes = []code{
		{sysSNOMED, "185349003", "Encounter for check up (procedure)"},
		{sysSNOMED, "185345009", "Encounter for symptom"},
		{sysSNOMED, "390906007", "Follow-up encounter (procedure)"},
		{sysSNOMED, "50849002", "Emergency room admission (procedure)"},
		{sysSNOMED, "32485007", "Hospital admission (procedure)"},
	}
	// encounterClasses lines up with encounterTypes.
	encounterClasses = []code{
		{sysActCode, "AMB", "ambulatory"},
		{sysActCode, "AMB", "ambulatory"},
		{sysActCode, "AMB", "ambulatory"},
		{sysActCode, "EMER", "emergency"},
		{sysActCode, "IMP", "inpatient encounter"},
	}
	conditions = []code{
		{sysSNOMED, "44054006", "Diabetes mellitus type 2 (disorder)"},
		{sysSNOMED, "38341003", "Hypertensive disorder, systemic arterial (disorder)"},
		{sysSNOMED, "195662009", "Acute viral pharyngitis (disorder)"},
		{sysSNOMED, "10509002", "Acute bronchitis (disorder)"},
		{sysSNOMED, "40055000", "Chronic sinusitis (disorder)"},
		{sysSNOMED, "195967001", "Asthma (disorder)"},
		{sysSNOMED, "55822004", "Hyperlipidemia (disorder)"},
		{sysSNOMED, "840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2 (disorder)"},
	}
	vitals = []quantityCode{
		{code{sysLOINC, "8302-2", "Body Height"}, "cm", 150, 195},
		{code{sysLOINC, "29463-7", "Body Weight"}, "kg", 50, 120},
		{code{sysLOINC, "8867-4", "Heart rate"}, "/min", 55, 105},
		{code{sysLOINC, "9279-1", "Respiratory rate"}, "/min", 12, 20},
		{code{sysLOINC, "8310-5", "Body temperature"}, "Cel", 36.1, 38.4},
		{code{sysLOINC, "39156-5", "Body mass index (BMI) [Ratio]"}, "kg/m2", 18.5, 36},
	}
	bpPanel     = code{sysLOINC, "85354-9", "Blood pressure panel with all children optional"}
	bpSystolic  = quantityCode{code{sysLOINC, "8480-6", "Systolic Blood Pressure"}, "mm[Hg]", 100, 160}
	bpDiastolic = quantityCode{code{sysLOINC, "8462-4", "Diastolic Blood Pressure"}, "mm[Hg]", 60, 100}
	socialNote  = code{sysLOINC, "8689-2", "History of Social function"}
	labPanels   = []struct {
		panel   code
		results []quantityCode
	}{
		{code{sysLOINC, "57698-3", "Lipid panel with direct LDL - Serum or Plasma"}, []quantityCode{
			{code{sysLOINC, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"}, "mg/dL", 140, 260},
			{code{sysLOINC, "2571-8", "Triglycerides"}, "mg/dL", 60, 240},
			{code{sysLOINC, "18262-6", "Low Density Lipoprotein Cholesterol"}, "mg/dL", 60, 180},
			{code{sysLOINC, "2085-9", "High Density Lipoprotein Cholesterol"}, "mg/dL", 30, 80},
		}},
		{code{sysLOINC, "51990-0", "Basic metabolic panel - Blood"}, []quantityCode{
			{code{sysLOINC, "2339-0", "Glucose [Mass/volume] in Blood"}, "mg/dL", 70, 180},
			{code{sysLOINC, "2947-0", "Sodium [Moles/volume] in Blood"}, "mmol/L", 134, 146},
			{code{sysLOINC, "6298-4", "Potassium [Moles/volume] in Blood"}, "mmol/L", 3.4, 5.2},
			{code{sysLOINC, "38483-4", "Creatinine [Mass/volume] in Blood"}, "mg/dL", 0.6, 1.4},
		}},
		{code{sysLOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"}, []quantityCode{
			{code{sysLOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"}, "%", 4.8, 9.5},
		}},
	}
	procedures = []code{
		{sysSNOMED, "430193006", "Medication Reconciliation (procedure)"},
		{sysSNOMED, "73761001", "Colonoscopy (procedure)"},
		{sysSNOMED, "117015009", "Throat culture (procedure)"},
		{sysSNOMED, "23426006", "Measurement of respiratory function (procedure)"},
		{sysSNOMED, "710824005", "Assessment of health and social care needs (procedure)"},
	}
	medications = []code{
		{sysRxNorm, "314076", "lisinopril 10 MG Oral Tablet"},
		{sysRxNorm, "860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"},
		{sysRxNorm, "197361", "Amlodipine 5 MG Oral Tablet"},
		{sysRxNorm, "313782", "Acetaminophen 325 MG Oral Tablet"},
		{sysRxNorm, "895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler"},
		{sysRxNorm, "308182", "Amoxicillin 250 MG Oral Capsule"},
		{sysRxNorm, "259255", "Atorvastatin 80 MG Oral Tablet"},
	}
	vaccines = []code{
		{sysCVX, "140", "Influenza, seasonal, injectable, preservative free"},
		{sysCVX, "208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose"},
		{sysCVX, "113", "Td (adult) preservative free"},
		{sysCVX, "133", "Pneumococcal conjugate PCV 13"},
		{sysCVX, "115", "Tdap"},
	}
	allergies = []code{
		{sysSNOMED, "91936005", "Allergy to penicillin"},
		{sysSNOMED, "300916003", "Latex allergy"},
		{sysSNOMED, "419474003", "Allergy to mould"},
		{sysSNOMED, "91935009", "Allergy to peanuts"},
	}
	allergyReactions = []code{
		{sysSNOMED, "247472004", "Wheal (finding)"},
		{sysSNOMED, "271807003", "Eruption of skin (disorder)"},
		{sysSNOMED, "267036007", "Dyspnea (finding)"},
	}
	deviceTypes = []code{
		{sysSNOMED, "337414009", "Blood glucose meter (physical object)"},
		{sysSNOMED, "706180003", "Respiratory nebulizer (physical object)"},
		{sysSNOMED, "72506001", "Implantable defibrillator, device (physical object)"},
	}
	noteTypes = []code{
		{sysLOINC, "11506-3", "Progress note"},
		{sysLOINC, "18842-5", "Discharge summary"},
		{sysLOINC, "34117-2", "History and physical note"},
	}
	specialties = []code{
		{sysNUCC, "207Q00000X", "Family Medicine Physician"},
		{sysNUCC, "207R00000X", "Internal Medicine Physician"},
		{sysNUCC, "207P00000X", "Emergency Medicine Physician"},
	}
	locationTypes = []code{
		{sysRoleCode, "HOSP", "Hospital"},
		{sysRoleCode, "ER", "Emergency room"},
		{sysRoleCode, "GIM", "General internal medicine clinic"},
	}
	specimenTypes = []code{
		{sysV20487, "SER", "Serum"},
		{sysV20487, "BLD", "Whole blood"},
	}
	races = []code{
		{sysOMBRace, "2106-3", "White"},
		{sysOMBRace, "2054-5", "Black or African American"},
		{sysOMBRace, "2028-9", "Asian"},
	}
	ethnicities = []code{
		{sysOMBRace, "2186-5", "Not Hispanic or Latino"},
		{sysOMBRace, "2135-2", "Hispanic or Latino"},
	}
	labCategory        = code{sysV20074, "LAB", "Laboratory"}
	labProcedure       = code{sysSNOMED, "108252007", "Laboratory procedure"}
	clinicalNote       = code{"http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note"}
	carePlanCategory   = code{sysSNOMED, "734163000", "Care plan"}
	carePlanActivity   = code{sysSNOMED, "229065009", "Exercise therapy"}
	episodeType        = code{"http://terminology.hl7.org/CodeSystem/episodeofcare-type", "hacc", "Home and Community Care"}
	practitionerRole   = code{"http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor", "Doctor"}
	claimType          = code{"http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional"}
	maritalStatus      = code{"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M", "Married"}
	conditionClinical  = code{"http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"}
	conditionConfirmed = code{"http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"}
	allergyClinical    = code{"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"}
	allergyConfirmed   = code{"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"}
	primaryPerformer   = code{"http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer"}
)
