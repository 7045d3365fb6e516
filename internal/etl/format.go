package etl

import (
	"context"
	"fmt"

	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
)

// OutputFormats are the --output-format values, the default first (as in Cumulus ETL).
var OutputFormats = []string{"deltalake", "parquet", "ndjson"}

// newFormat returns the table format a run writes OUTPUT's tables in.
func newFormat(cfg Config, out store.Store) (tables.Format, error) {
	switch cfg.OutputFormat {
	case "deltalake":
		return &tables.Delta{Store: out, BatchSize: cfg.BatchSize, TempDir: cfg.TempDir, Now: cfg.Now,
			Engine: "cumulus-etl/" + cfg.Version}, nil
	case "parquet":
		return &tables.Parquet{Store: out, BatchSize: cfg.BatchSize, TempDir: cfg.TempDir}, nil
	case "ndjson":
		return &tables.NDJSON{Store: out, BatchSize: cfg.BatchSize}, nil
	}
	return nil, fmt.Errorf("%w: %q (use one of %v)", tables.ErrUnknownFormat, cfg.OutputFormat, OutputFormats)
}

// tableChecker is a format that can refuse an existing table before anything is written.
type tableChecker interface {
	CheckTable(ctx context.Context, table string) error
}

// checkTables refuses the run up front if an existing table of its tasks (or a completion table)
// cannot be written safely (tables.ErrUnsupportedTable), rather than after some tables changed.
func checkTables(ctx context.Context, format tables.Format, tasks []Task) error {
	c, ok := format.(tableChecker)
	if !ok {
		return nil
	}
	names := []string{completionTable, completionEncountersTable}
	for _, t := range tasks {
		names = append(names, t.Name)
	}
	for _, name := range names {
		if err := c.CheckTable(ctx, name); err != nil {
			return err
		}
	}
	return nil
}
