package readback

import (
	"os"
	"path/filepath"
	"testing"

	"cumulus-etl/internal/schema"
	"cumulus-etl/internal/tables/parquetfile"
)

var observations = []string{
	`{"resourceType":"Observation","id":"b","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"},{"code":"x","userSelected":true}],"text":"Height"},"valueQuantity":{"value":181.25,"unit":"cm"}}`,
	`{"resourceType":"Observation","id":"a","category":[{"text":"one"},{"coding":[{"code":"c1"},{"code":"c2"}]}],"valueInteger":-7,"component":[{"code":{"text":"t"},"valueBoolean":false},{"valueString":"esc\"aped\u00e9 \\ /"}]}`,
	`{"resourceType":"Observation","id":"c","_valueString":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"masked"}]},"valueQuantity":{"value":1e-3}}`,
}

// Issue 7, item 3: DuckDB reads back from our Parquet file exactly the rows that went in:
// nested structs, lists of structs, lists in lists, escapes, primitive extensions, every kind.
func TestParquetFileReadsBackInDuckDB(t *testing.T) {
	tb, _ := schema.NewTable("Observation")
	for _, r := range observations {
		if err := tb.Add([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "observation.000.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := parquetfile.New(f, tb.Root(), parquetfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range observations {
		if err := w.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	db := openDuckDB(t)
	got := jsonRows(t, db, "SELECT to_json(t)::VARCHAR FROM read_parquet(?) t", path)
	var want []any
	for _, r := range observations {
		want = append(want, decode(t, r))
	}
	sameRows(t, "observation", got, want)
}
