package etl

import (
	"fmt"
	"sort"
	"testing"
)

func TestDedupe_LastCopyWinsAcrossPartitions(t *testing.T) {
	for _, partitions := range []int{1, 7, 64} {
		t.Run(fmt.Sprintf("%d partitions", partitions), func(t *testing.T) {
			d, err := newDedupe(t.TempDir(), partitions)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			// 1000 ids, each written three times; the last copy carries "v2".
			for v := range 3 {
				for i := range 1000 {
					if err := d.add(fmt.Sprintf("id%04d", i), fmt.Appendf(nil, `{"id":"id%04d","v":%d}`, i, v)); err != nil {
						t.Fatal(err)
					}
				}
			}
			deleted := map[string]struct{}{"id0005": {}, "id0999": {}}
			var got []string
			stats, err := d.emit(deleted, func(id string, row []byte) error {
				if want := fmt.Sprintf(`{"id":"%s","v":2}`, id); string(row) != want {
					t.Errorf("row for %s = %s, want %s", id, row, want)
				}
				got = append(got, id)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if len(got) != 998 || got[0] != "id0000" || got[5] != "id0006" {
				t.Errorf("emitted %d ids (first %v)", len(got), got[:min(6, len(got))])
			}
			if stats.duplicates != 2000 || stats.deleted != 2 {
				t.Errorf("stats = %+v, want 2000 duplicates and 2 deleted", stats)
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
