package tables

import (
	"errors"

	"cumulus-etl/internal/schema"
)

// Spec describes the table Create starts.
type Spec struct {
	// Resource is the FHIR resource type of the rows, which types the columnar formats' columns;
	// "" for a table of Columns.
	Resource string
	// Columns are the string columns of a table that is not a FHIR resource (completion tables).
	Columns []string
	// Replace makes an upserting format (Delta Lake) replace the table's rows whole. ndjson and
	// Parquet always replace the table.
	Replace bool
	// Deleted are de-identified ids the run deletes: an upserting format removes them from the
	// rows earlier runs wrote. (Rows of this run with these ids are the caller's to drop.)
	Deleted map[string]struct{}
}

// newSchema returns the column schema for a spec.
func (s Spec) newSchema(table string) (*schema.Table, error) {
	if s.Resource == "" {
		return schema.NewStringTable(table, s.Columns...), nil
	}
	return schema.NewTable(s.Resource)
}

// ErrRowDoesNotFit wraps WriteRow's error for a row whose values do not fit the table's FHIR R4
// column types: a rejected row, not a failed table.
var ErrRowDoesNotFit = schema.ErrDoesNotFit

// ErrUnsupportedTable means OUTPUT holds a table the format will not write into (a Delta table
// with features we do not write, or columns of other types); nothing was written to it.
var ErrUnsupportedTable = errors.New("the existing table cannot be written safely")
