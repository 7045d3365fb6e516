// Package tables writes output tables. Each format sits behind one small interface so the ETL does
// not care whether rows end up in ndjson files or, later, Parquet or Delta Lake.
package tables

import "errors"

// Writer receives the rows of one table for one run. Rows arrive already de-identified, as
// compact JSON objects without a trailing newline. Nothing is visible under the table's final
// name until Commit returns; Abort (safe to call after Commit) discards everything written.
type Writer interface {
	// WriteRow appends one row. The slice is not retained after the call returns.
	WriteRow(row []byte) error
	// Drop removes the rows already written whose position (0-based, in write order) drop
	// reports, keeping the others in order. Rows() counts what is left. Call it before Commit.
	Drop(drop func(row int64) bool) error
	// Commit makes the whole table visible at once, replacing the previous version of it.
	Commit() error
	// Abort discards the rows written so far and leaves the previous table untouched.
	Abort() error
	// Rows returns how many rows were written.
	Rows() int64
}

// Format creates table writers.
type Format interface {
	// Name is the --output-format value, such as "ndjson".
	Name() string
	// Create starts a new version of the named table under the output root.
	Create(table string) (Writer, error)
	// ReadRows calls fn for each row of the table's current version, if it exists.
	ReadRows(table string, fn func(row []byte) error) error
}

// ErrUnknownFormat is returned for an --output-format value we do not support.
var ErrUnknownFormat = errors.New("unknown output format")
