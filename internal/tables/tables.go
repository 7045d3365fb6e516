// Package tables writes output tables. Each format sits behind one small interface so the ETL does
// not care whether rows end up in ndjson files or, later, Parquet or Delta Lake; where the bytes go
// is the store.Store the format is given.
package tables

import (
	"context"
	"errors"
)

// Writer receives the rows of one table for one run. Rows arrive already de-identified, as
// compact JSON objects without a trailing newline. Nothing is visible under the table's final
// name until Commit returns; Abort (safe to call after Commit) discards everything written.
type Writer interface {
	// WriteRow appends one row. The slice is not retained after the call returns. A row whose
	// values do not fit the table's column types is refused with an error wrapping
	// ErrRowDoesNotFit (the columnar formats), and the writer stays usable.
	WriteRow(row []byte) error
	// Drop removes the rows already written whose position (0-based, in write order) drop
	// reports, keeping the others in order. Rows() counts what is left. Call it before Commit.
	Drop(drop func(row int64) bool) error
	// Commit makes the whole table visible at once: the new version replaces the previous one
	// (ndjson, Parquet) or is merged into it by id (Delta Lake, see Spec).
	Commit() error
	// Abort discards the rows written so far and leaves the previous table untouched.
	Abort() error
	// Rows returns how many rows were written.
	Rows() int64
}

// Format creates table writers. The caller holds the table's run lock around Create ... Commit
// (see etl), so one writer at a time replaces a table.
type Format interface {
	// Name is the --output-format value, such as "ndjson".
	Name() string
	// Create starts a new version of the named table under the output root. A format that keeps
	// tables across runs refuses one it cannot write correctly (ErrUnsupportedTable) here, before
	// anything is written.
	Create(ctx context.Context, table string, spec Spec) (Writer, error)
	// ReadRows calls fn for each row of the table's current version, if it exists.
	ReadRows(ctx context.Context, table string, fn func(row []byte) error) error
	// ForeignFiles lists the files in the table's folder that this format did not write (a
	// user's notes, say), which replacing the table would delete: the ETL refuses to.
	ForeignFiles(ctx context.Context, table string) ([]string, error)
}

// ErrUnknownFormat is returned for an --output-format value we do not support.
var ErrUnknownFormat = errors.New("unknown output format")
