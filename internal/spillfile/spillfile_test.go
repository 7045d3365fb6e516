package spillfile

import (
	"fmt"
	"strings"
	"testing"
)

func TestRecordsComeBackInOrder(t *testing.T) {
	for _, nums := range []int{0, 1, 2} {
		f, err := Create(t.TempDir(), "spill-", nums)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want := []string{}
		for i := range 1000 {
			data := strings.Repeat("x", i%300)
			args := make([]uint64, nums)
			for j := range args {
				args[j] = uint64(i * (j + 1) * 1000003)
			}
			if err := f.Append([]byte(data), args...); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprint(args, data))
		}
		for round := range 2 { // Each twice, with an Append between: the file goes on
			var got []string
			err := f.Each(func(n []uint64, data []byte) error {
				got = append(got, fmt.Sprint(n, string(data)))
				return nil
			})
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("nums %d round %d: %d records, %v", nums, round, len(got), err)
			}
			_ = f.Append([]byte("more"), make([]uint64, nums)...)
			want = append(want, fmt.Sprint(make([]uint64, nums), "more"))
		}
		if err := f.Append(nil, 1, 2, 3); err == nil {
			t.Error("a record with the wrong count of numbers was taken")
		}
	}
}
