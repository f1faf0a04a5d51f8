package host

import (
	"slices"
	"strconv"
	"testing"
)

func TestShardCoversEverySeedOnce(t *testing.T) {
	seeds, err := ParseSeeds("1-103")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 7, 103, 200} {
		var all []uint64
		for k := 1; k <= n; k++ {
			part, err := Shard(seeds, fmtShard(k, n))
			if err != nil {
				t.Fatal(err)
			}
			if len(part) > (len(seeds)+n-1)/n {
				t.Errorf("shard %d/%d has %d seeds, more than its share", k, n, len(part))
			}
			all = append(all, part...)
		}
		slices.Sort(all)
		if !slices.Equal(all, seeds) {
			t.Errorf("the %d shards do not cover the seeds exactly once: %v", n, all)
		}
	}
}

func TestShardRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"", "3", "0/4", "5/4", "1/0", "a/b", "-1/3", "2/-3"} {
		if _, err := Shard([]uint64{1, 2, 3}, spec); err == nil {
			t.Errorf("Shard(%q) accepted a bad spec", spec)
		}
	}
}

func fmtShard(k, n int) string { return strconv.Itoa(k) + "/" + strconv.Itoa(n) }
