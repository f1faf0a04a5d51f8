package main

import "testing"

// --brokers keeps every world within its range; a seed whose own draw is
// in the range runs the world it runs without the flag; outside it, only
// the broker count and what follows from it (replication factor,
// min.insync.replicas) change.
func TestBrokersFlagRestrictsTheDraw(t *testing.T) {
	derive := func(s uint64, brokers string) params {
		f, err := parseFlags([]string{"--seed", "0", "--brokers", brokers})
		if err != nil {
			t.Fatal(err)
		}
		f.seed = s
		return deriveParams(f, scenarios["world"])
	}
	counts := map[int]int{}
	redrawn := 0
	for s := uint64(1); s <= 800; s++ {
		free, ranged, one := derive(s, modeSeed), derive(s, "3-5"), derive(s, "4")
		n := ranged.World.Nodes
		counts[n]++
		if n < 3 || n > 5 || one.World.Nodes != 4 {
			t.Fatalf("seed %d: %d brokers under --brokers 3-5, %d under --brokers 4", s, n, one.World.Nodes)
		}
		w := *ranged.World
		if free.World.Nodes >= 3 {
			if n != free.World.Nodes {
				t.Fatalf("seed %d drew %d brokers but runs %d under --brokers 3-5", s, free.World.Nodes, n)
			}
		} else {
			redrawn++
		}
		if w.ReplicationFactor != 3 || w.MinInsync != 2 {
			t.Fatalf("seed %d on %d brokers: RF %d, min.insync %d", s, n, w.ReplicationFactor, w.MinInsync)
		}
		w.Nodes, w.ReplicationFactor, w.MinInsync = free.World.Nodes, free.World.ReplicationFactor, free.World.MinInsync
		if w != *free.World {
			t.Fatalf("seed %d: --brokers changed other parameters:\n%+v\n%+v", s, w, *free.World)
		}
	}
	if redrawn == 0 || counts[3] <= counts[4] || counts[4] == 0 || counts[5] == 0 {
		t.Errorf("counts under --brokers 3-5: %v (%d redrawn)", counts, redrawn)
	}
	for _, bad := range []string{"0", "6", "5-3", "x", "2-", "1-9"} {
		if _, err := parseFlags([]string{"--brokers", bad}); err == nil {
			t.Errorf("--brokers %q accepted", bad)
		}
	}
}
