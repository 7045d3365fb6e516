package parquetfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"

	"cumulus-etl/internal/schema"
)

func numRows(t *testing.T, data []byte) int64 {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f.NumRows()
}

// schemaOf is the Observation schema grown by rows.
func schemaOf(rows ...string) *schema.Column {
	tb, _ := schema.NewTable("Observation")
	for _, r := range rows {
		_ = tb.Add([]byte(r))
	}
	return tb.Root()
}

// writeRows writes rows into a Parquet file with the given columns and opens it.
func writeRows(t *testing.T, root *schema.Column, rows ...string) (*File, []byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	w, err := New(&buf, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return f, buf.Bytes(), stats
}

// Rows are Observations that exercise nested structs, lists of structs, lists in lists, escapes,
// primitive extensions and every primitive kind.
var Rows = []string{
	`{"resourceType":"Observation","id":"b","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"},{"code":"x","userSelected":true}],"text":"Height"},"valueQuantity":{"value":181.25,"unit":"cm"}}`,
	`{"resourceType":"Observation","id":"a","category":[{"text":"one"},{"coding":[{"code":"c1"},{"code":"c2"}]}],"valueInteger":-7,"component":[{"code":{"text":"t"},"valueBoolean":false},{"valueString":"esc\"aped\u00e9"}]}`,
	`{"resourceType":"Observation","id":"c","_valueString":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"masked"}]}}`,
}

// Issue 7, item 3 (Delta stats "only where exact"): the statistics count rows exactly and give
// the exact minimum, maximum and null count of top-level primitive columns. (The values
// themselves are read back with DuckDB in internal/tables/readback.)
func TestStatsAreExact(t *testing.T) {
	_, data, stats := writeRows(t, schemaOf(Rows...), Rows...)
	if stats.Rows != 3 || numRows(t, data) != 3 {
		t.Errorf("stats count %d rows, the file %d", stats.Rows, numRows(t, data))
	}
	want := map[string]ColumnStats{
		"id":           {Min: "a", Max: "c", Nulls: 0},
		"valueInteger": {Min: int32(-7), Max: int32(-7), Nulls: 2},
		"issued":       {Nulls: 3},
	}
	for _, c := range stats.Columns {
		if w, ok := want[c.Name]; ok && (c.Min != w.Min || c.Max != w.Max || c.Nulls != w.Nulls) {
			t.Errorf("%s: min %v max %v nulls %d, want %v %v %d", c.Name, c.Min, c.Max, c.Nulls, w.Min, w.Max, w.Nulls)
		}
	}
}

// A row that does not fit the file's columns is refused and leaves no half row in the file.
func TestRowThatDoesNotFitLeavesNothing(t *testing.T) {
	tb, _ := schema.NewTable("Observation")
	_ = tb.Add([]byte(Rows[0]))
	var buf bytes.Buffer
	w, _ := New(&buf, tb.Root(), Options{})
	for _, bad := range []string{
		`{"resourceType":"Observation","id":"x","valueInteger":"7"}`,
		`{"resourceType":"Observation","id":"y","referenceRange":[{"low":{"value":1}}]}`, // no column yet
		`{"resourceType":"Observation","id":"z","code":{"text":"t"}`,
		`{"resourceType":"Observation","id":"q"} trailing`, // fails after every field was read
	} {
		if err := w.Write([]byte(bad)); err == nil {
			t.Errorf("%s: written", bad)
		}
	}
	if err := w.Write([]byte(Rows[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := numRows(t, buf.Bytes()); n != 1 {
		t.Errorf("file holds %d rows, want the 1 that fits", n)
	}
	f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	if err := f.ReadRows(func(r []byte) error { rows = append(rows, string(r)); return nil }); err != nil || len(rows) != 1 {
		t.Errorf("reading back: %v %v", rows, err)
	}
}

// What the writer wrote, the reader gives back as the same JSON values (fields in file order).
func TestReadRowsGivesBackTheRows(t *testing.T) {
	f, _, _ := writeRows(t, schemaOf(Rows...), Rows...)
	i := 0
	err := f.ReadRows(func(row []byte) error {
		var got, want any
		if err := json.Unmarshal(row, &got); err != nil {
			return fmt.Errorf("%s: %w", row, err)
		}
		_ = json.Unmarshal([]byte(Rows[i]), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d:\n got %s\nwant %s", i, row, Rows[i])
		}
		i++
		return nil
	})
	if err != nil || i != len(Rows) {
		t.Fatalf("read %d rows: %v", i, err)
	}
	// Written again with the read-back file's own columns, the file reads the same.
	var again bytes.Buffer
	w2, err := New(&again, f.Columns(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.ReadRows(w2.Write)
	if _, err := w2.Close(); err != nil || numRows(t, again.Bytes()) != int64(len(Rows)) {
		t.Fatalf("rewrite: %v", err)
	}
}

// Strings reads one column alone, top-level or nested, with the row numbers ReadRows would give;
// a path that names no string leaf outside lists is ErrNoColumn.
func TestStrings(t *testing.T) {
	f, _, _ := writeRows(t, schemaOf(Rows...), Rows...)
	cases := []struct{ path, want string }{
		{"id", "[0:b 1:a 2:c]"},
		{"status", "[0:final]"},
		{"code.text", "[0:Height]"},
		{"nosuch", "no column"},
		{"code.nosuch", "no column"},
		{"category.text", "no column"}, // under a list
		{"code", "no column"},          // not a leaf
		{"valueInteger", "no column"},  // not a string
	}
	for _, tc := range cases {
		var got []string
		err := f.Strings(tc.path, func(row int64, v []byte) error {
			got = append(got, fmt.Sprintf("%d:%s", row, v))
			return nil
		})
		verdict := fmt.Sprint(got)
		if errors.Is(err, ErrNoColumn) {
			verdict = "no column"
		} else if err != nil {
			verdict = err.Error()
		}
		if verdict != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, verdict, tc.want)
		}
	}
}

// CopyFrom copies the kept rows, value by value when the columns are the same and through JSON
// when the destination has more columns; either way the rows read back the same.
func TestCopyFrom(t *testing.T) {
	big := schemaOf(Rows...)
	same, _, _ := writeRows(t, big, Rows...)
	fewer, _, _ := writeRows(t, schemaOf(Rows[0]), Rows[0], Rows[0])
	for name, src := range map[string]*File{"same columns": same, "fewer columns": fewer} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			w, _ := New(&buf, big, Options{})
			n, err := w.CopyFrom(src, func(row int64) bool { return row != 1 })
			if err != nil {
				t.Fatal(err)
			}
			stats, err := w.Close()
			if err != nil || stats.Rows != n || n != src.NumRows()-1 {
				t.Fatalf("copied %d, stats %d: %v", n, stats.Rows, err)
			}
			dst, _ := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			var got, want []string
			_ = dst.ReadRows(func(r []byte) error { got = append(got, string(r)); return nil })
			row := int64(0)
			_ = src.ReadRows(func(r []byte) error {
				if row != 1 {
					want = append(want, string(r))
				}
				row++
				return nil
			})
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
}
