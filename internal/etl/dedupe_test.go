package etl

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/store"
	"cumulus-etl/internal/tables"
)

func TestLastWins_LastCopyWinsAcrossPartitions(t *testing.T) {
	for _, partitions := range []int{1, 7, 64} {
		t.Run(fmt.Sprintf("%d partitions", partitions), func(t *testing.T) {
			root := t.TempDir()
			format := &tables.NDJSON{Store: store.NewLocal(root, store.Options{}), BatchSize: 700}
			w, err := format.Create(context.Background(), "t", tables.Spec{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			d, err := newLastWins(w, t.TempDir(), partitions)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			// 1000 ids, each written three times; the last copy carries "v":2.
			for v := range 3 {
				for i := range 1000 {
					if err := d.write(fmt.Sprintf("id%04d", i), fmt.Appendf(nil, `{"id":"id%04d","v":%d}`, i, v)); err != nil {
						t.Fatal(err)
					}
				}
			}
			var kept []string
			stats, err := d.finish(map[string]struct{}{"id0005": {}, "id0999": {}}, func(key string) error {
				kept = append(kept, key)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if stats.duplicates != 2000 || stats.deleted != 2 || len(kept) != 998 {
				t.Errorf("stats = %+v, %d kept; want 2000 duplicates, 2 deleted, 998 kept", stats, len(kept))
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			var rows []string
			if err := format.ReadRows(context.Background(), "t", func(row []byte) error {
				rows = append(rows, string(row))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 998 || w.Rows() != 998 {
				t.Fatalf("table has %d rows (Rows() = %d), want 998", len(rows), w.Rows())
			}
			for i, r := range rows {
				if !strings.HasSuffix(r, `"v":2}`) {
					t.Fatalf("row %d = %s: an earlier copy survived", i, r)
				}
			}
			if rows[0] != `{"id":"id0000","v":2}` || rows[5] != `{"id":"id0006","v":2}` {
				t.Errorf("rows are not in input order: %v", rows[:6])
			}
			files, _ := filepath.Glob(filepath.Join(root, "t", "*.ndjson"))
			if len(files) != 5 { // 3000 rows written in files of 700
				t.Errorf("files = %v", files)
			}
		})
	}
}

func TestPartitionsFor_BoundsPartitionSize(t *testing.T) {
	cases := []struct {
		input int64
		want  int
	}{
		{0, 1},
		{partitionTarget - 1, 1},
		{10 * partitionTarget, 11},
		{1 << 50, maxPartitions},
	}
	for _, tc := range cases {
		if got := partitionsFor(tc.input); got != tc.want {
			t.Errorf("partitionsFor(%d) = %d, want %d", tc.input, got, tc.want)
		}
	}
}
