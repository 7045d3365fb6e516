package readback

import (
	"database/sql"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// openDuckDB opens an in-memory DuckDB that never reaches for the network: the delta extension
// (and any other) cannot be downloaded here, so Delta tables are read as read_parquet over the
// live files our log reader lists.
func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{"SET autoinstall_known_extensions=false", "SET autoload_known_extensions=false"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// jsonRows runs a query whose one column is a JSON text per row and decodes each row.
func jsonRows(t *testing.T, db *sql.DB, query string, args ...any) []any {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, decode(t, s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decode parses JSON with nulls, empty lists and empty objects taken out: a Parquet row has a
// null for every column its JSON row does not hold.
func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return prune(v)
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e = prune(e); e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i, e := range x {
			x[i] = prune(e)
		}
	case json.Number:
		f, _ := x.Float64() // 181.25 and 181.250 are the same double
		return f
	}
	return v
}

// sameRows compares two sets of rows keyed by id (by the whole row, for tables without ids).
func sameRows(t *testing.T, what string, got, want []any) {
	t.Helper()
	byID := func(rows []any) map[string]any {
		m := map[string]any{}
		for _, r := range rows {
			id, _ := r.(map[string]any)["id"].(string)
			if id == "" {
				b, _ := json.Marshal(r) // maps marshal with sorted keys
				id = string(b)
			}
			if _, dup := m[id]; dup {
				t.Errorf("%s: row %s twice", what, id)
			}
			m[id] = r
		}
		return m
	}
	g, w := byID(got), byID(want)
	if len(g) != len(w) {
		t.Errorf("%s: %d rows, want %d", what, len(g), len(w))
	}
	shown := 0
	for id, wr := range w {
		if gr, ok := g[id]; !ok {
			t.Errorf("%s: row %s missing", what, id)
		} else if !reflect.DeepEqual(gr, wr) && shown < 3 {
			shown++
			gj, _ := json.Marshal(gr)
			wj, _ := json.Marshal(wr)
			t.Errorf("%s: row %s differs:\n got %s\nwant %s", what, id, gj, wj)
		}
	}
}
