package etl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Task turns one FHIR resource type into one output table.
type Task struct {
	Name     string // the output table, e.g. "condition"
	Resource string // the FHIR resource type, e.g. "Condition"
}

// allTasks lists every task in run order: encounter and patient first (as Cumulus ETL does, so the
// completion tables see encounters before anything that points at them), then the rest.
var allTasks = []Task{
	{"encounter", "Encounter"},
	{"patient", "Patient"},
	{"allergyintolerance", "AllergyIntolerance"},
	{"condition", "Condition"},
	{"device", "Device"},
	{"diagnosticreport", "DiagnosticReport"},
	{"documentreference", "DocumentReference"},
	{"episodeofcare", "EpisodeOfCare"},
	{"immunization", "Immunization"},
	{"location", "Location"},
	{"medication", "Medication"},
	{"medicationdispense", "MedicationDispense"},
	{"medicationrequest", "MedicationRequest"},
	{"observation", "Observation"},
	{"organization", "Organization"},
	{"practitioner", "Practitioner"},
	{"practitionerrole", "PractitionerRole"},
	{"procedure", "Procedure"},
	{"servicerequest", "ServiceRequest"},
	{"specimen", "Specimen"},
}

// AllTasks returns every task in run order.
func AllTasks() []Task { return append([]Task(nil), allTasks...) }

// ErrUnknownTask is returned when --task names a task that does not exist.
var ErrUnknownTask = errors.New("unknown task")

// SelectTasks resolves --task values (repeatable, each a comma list) into tasks in run order.
// No names means every task; an empty name (`--task ""`, `--task patient,`) is an error.
func SelectTasks(names []string) ([]Task, error) {
	if len(names) == 0 {
		return AllTasks(), nil
	}
	wanted := map[string]bool{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if part == "" {
				// `--task ""` (an unset variable in a script) must not quietly mean every task.
				return nil, fmt.Errorf("%w: --task %q holds an empty task name (run with --task help to list them)", ErrUnknownTask, n)
			}
			wanted[part] = true
		}
	}
	var out []Task
	for _, t := range allTasks {
		if wanted[t.Name] {
			out = append(out, t)
			delete(wanted, t.Name)
		}
	}
	if len(wanted) > 0 {
		var unknown []string
		for n := range wanted {
			unknown = append(unknown, n)
		}
		sort.Strings(unknown)
		return nil, fmt.Errorf("%w: %s (run with --task help to list them)", ErrUnknownTask, strings.Join(unknown, ", "))
	}
	return out, nil
}

// TaskHelp describes every task, for --task help.
func TaskHelp() string {
	var b strings.Builder
	b.WriteString("Available tasks (one output table per FHIR resource type):\n")
	for _, t := range allTasks {
		fmt.Fprintf(&b, "  %-20s %s\n", t.Name, t.Resource)
	}
	return b.String()
}

// Resources returns the resource types the tasks read, sorted.
func Resources(tasks []Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.Resource)
	}
	sort.Strings(out)
	return out
}
