// Package synth generates deterministic, realistic-looking synthetic FHIR R4 bulk exports: clinical
// content with real code systems, and PHI-shaped values a de-identifier must remove, which it lists
// so leak tests can scan for them.
package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Options controls what Generate writes. The zero value (plus a Patients count) is usable.
type Options struct {
	// Patients is how many patients to generate; each brings encounters and clinical resources.
	Patients int
	// Seed makes output reproducible: the same Options always give byte-identical files.
	Seed int64
	// TransactionTime is the export's transactionTime; clinical dates fall in the 8 years before it.
	// Zero means DefaultTransactionTime.
	TransactionTime time.Time
	// Gzip writes resource files as <Type>.000.ndjson.gz instead of plain <Type>.000.ndjson.
	Gzip bool
}

// DefaultTransactionTime is the transactionTime used when Options.TransactionTime is zero.
var DefaultTransactionTime = time.Date(2024, 6, 3, 14, 15, 16, 789_000_000, time.FixedZone("", -4*3600))

// Manifest describes what Generate wrote.
type Manifest struct {
	// Counts is the number of resources per resource type in the output files.
	Counts map[string]int
	// PlantedPHI is every PHI string written (names, addresses, phones, identifiers, full birth
	// dates, free text, base64 notes), sorted and without duplicates. Each occurs verbatim in the
	// written bytes of an uncompressed export.
	PlantedPHI []string
	// Deleted lists the "Type/id" entries of deleted/Bundle.000.ndjson; all are present in the output.
	Deleted []string
}

var (
	taskTypes = []string{
		"AllergyIntolerance", "Condition", "Device", "DiagnosticReport", "DocumentReference", "Encounter",
		"EpisodeOfCare", "Immunization", "Location", "Medication", "MedicationDispense", "MedicationRequest",
		"Observation", "Organization", "Patient", "Practitioner", "PractitionerRole", "Procedure",
		"ServiceRequest", "Specimen",
	}
	untaskedTypes = []string{"CarePlan", "Claim"}
)

// TaskTypes returns the 20 resource types that have an ETL task; Generate writes rows for each.
func TaskTypes() []string { return slices.Clone(taskTypes) }

// UntaskedTypes returns the extra types Generate writes that no ETL task reads.
func UntaskedTypes() []string { return slices.Clone(untaskedTypes) }

// allTypes is every type Generate writes, sorted.
func allTypes() []string {
	all := append(slices.Clone(taskTypes), untaskedTypes...)
	slices.Sort(all)
	return all
}

// gen holds the state of one Generate run.
type gen struct {
	r        *rand.Rand
	tx       time.Time
	out      *outputs
	phi      map[string]struct{}
	shared   shared
	deleted  []string
	err      error
	lineBuf  []byte
	patients int
}

// Generate writes a bulk export folder to dir (created if missing): one <Type>.000.ndjson per type,
// deleted/Bundle.000.ndjson, error/OperationOutcome.000.ndjson and log.ndjson. Files are written
// atomically; existing files of the same names are replaced.
func Generate(dir string, opts Options) (*Manifest, error) {
	if opts.Patients < 1 {
		return nil, fmt.Errorf("synth: Patients must be at least 1, got %d", opts.Patients)
	}
	tx := opts.TransactionTime
	if tx.IsZero() {
		tx = DefaultTransactionTime
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating export folder %s: %w", dir, err)
	}
	ext := ".ndjson"
	if opts.Gzip {
		ext = ".ndjson.gz"
	}
	out, err := openOutputs(dir, ext, allTypes())
	if err != nil {
		return nil, err
	}
	g := &gen{
		r:        rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed_f41e_c0de_0001)),
		tx:       tx,
		out:      out,
		phi:      map[string]struct{}{},
		patients: opts.Patients,
	}
	g.sharedResources()
	for range opts.Patients {
		g.patientRecord()
	}
	if g.err != nil {
		out.abort()
		return nil, g.err
	}
	files, err := out.commit()
	if err != nil {
		return nil, err
	}
	return g.finish(dir, files)
}

// finish writes the deleted, error and log files and builds the Manifest.
func (g *gen) finish(dir string, files []fileStat) (*Manifest, error) {
	extra, err := g.writeSideFiles(dir)
	if err != nil {
		return nil, err
	}
	if err := g.writeLog(filepath.Join(dir, "log.ndjson"), append(files, extra...)); err != nil {
		return nil, err
	}
	m := &Manifest{Counts: map[string]int{}, Deleted: g.deleted}
	for _, f := range files {
		m.Counts[f.resourceType] += f.lines
	}
	for s := range g.phi {
		m.PlantedPHI = append(m.PlantedPHI, s)
	}
	slices.Sort(m.PlantedPHI)
	return m, nil
}

// emit writes one resource as a line of its type's file. The first error sticks and stops output.
func (g *gen) emit(res obj) {
	if g.err != nil {
		return
	}
	typ, ok := res[0].v.(string)
	if res[0].k != "resourceType" || !ok {
		g.err = errors.New("synth: resource without leading resourceType")
		return
	}
	g.lineBuf = append(appendJSON(g.lineBuf[:0], res), '\n')
	g.err = g.out.write(typ, g.lineBuf)
}

// p records s as planted PHI and returns it.
func (g *gen) p(s string) string {
	g.phi[s] = struct{}{}
	return s
}

// id returns a random version-4 UUID string.
func (g *gen) id() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// ref returns a Reference to typ/id.
func ref(typ, id string) obj { return obj{{"reference", typ + "/" + id}} }

// between returns a value in [lo, hi) rounded to one decimal.
func (g *gen) between(lo, hi float64) float64 {
	v := lo + g.r.Float64()*(hi-lo)
	return float64(int(v*10+0.5)) / 10
}

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// Date and time layouts used in resources and the log.
const (
	layoutDateTime = "2006-01-02T15:04:05-07:00"
	layoutInstant  = "2006-01-02T15:04:05.000-07:00"
	layoutDate     = "2006-01-02"
)

// clinicalZone is the offset of all clinical timestamps.
var clinicalZone = time.FixedZone("", -5*3600)

// clinicalTime returns a weekday-hours time within the 8 years before the transaction time. Birth
// dates are always at least 20 years before it, so no clinical date equals a birth date.
func (g *gen) clinicalTime() time.Time {
	days := 2 + g.r.IntN(8*365-2)
	t := g.tx.In(clinicalZone).AddDate(0, 0, -days)
	return time.Date(t.Year(), t.Month(), t.Day(), 8+g.r.IntN(9), 15*g.r.IntN(4), 0, 0, clinicalZone)
}

// dt formats a clinical timestamp.
func dt(t time.Time) string { return t.Format(layoutDateTime) }
