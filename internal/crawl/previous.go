package crawl

import (
	"context"
	"os"
	"path/filepath"

	"cumulus-etl/internal/bulk"
)

// unresolvedName is the list of identifiers that found no Patient, in the export folder.
const unresolvedName = "failed-identifiers.tsv"

// previousCohort returns the patients of the export the time window starts from (a crawl's
// cohort file, or else the Patients of its files), saved beside the cohort on the first run so
// every run of this crawl tells new patients alike; nil when there is no window or no such
// export. A patient not in it is new and gets its whole history.
func (r *run) previousCohort(ctx context.Context, pl *plan) (*sortedFile, error) {
	if pl.PreviousExport == "" || pl.Window.Since == "" {
		return nil, nil
	}
	path := filepath.Join(r.crawlDir, "previous.txt")
	if _, err := os.Stat(path); err == nil {
		return openSorted(path)
	}
	sorter, err := newLineSorter(filepath.Join(r.crawlDir, "sort-previous"))
	if err != nil {
		return nil, err
	}
	add := func(id string) error { return sorter.add([]byte(id)) }
	theirs := filepath.Join(bulk.StateFolder(pl.PreviousExport), "crawl", "cohort.txt")
	if _, err := os.Stat(theirs); err == nil {
		err = eachLine(theirs, func(line []byte) error { return sorter.add(line) })
		if err != nil {
			return nil, err
		}
	} else if err := patientsOf(ctx, pl.PreviousExport, add); err != nil {
		return nil, err
	}
	return writeSorted(sorter, path)
}

// countUnresolved counts the identifiers listed in the file at path (0 when there is none).
func countUnresolved(path string) int {
	n := -1 // the header
	if err := eachLine(path, func([]byte) error { n++; return nil }); err != nil {
		return 0
	}
	return max(0, n)
}
