package main

import (
	"strconv"
	"testing"
)

// --lone-leader runs the topics a lone leader can occur on (two replicas,
// min.insync.replicas 1) with unclean election off, and allows no loss:
// Kafka keeps such a partition offline until its leader returns. It runs
// at least 3 brokers (a lone leader needs a follower, and its crash a
// quorum majority left to elect), and its replica.lag.time.max is 10 s or
// 5 s, short enough for its windows to fit the phase; it changes nothing
// else a seed draws.
func TestLoneLeaderFlag(t *testing.T) {
	derive := func(seed int, args ...string) params {
		f, err := parseFlags(append([]string{"--seed", strconv.Itoa(seed)}, args...))
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"])
	}
	for seed := 1; seed <= 50; seed++ {
		plain, lone := derive(seed), derive(seed, "--lone-leader")
		if !lone.LoneLeader || lone.UncleanElection {
			t.Fatalf("seed %d: --lone-leader gives lone %v unclean %v", seed, lone.LoneLeader, lone.UncleanElection)
		}
		if lone.World.ReplicationFactor != 2 || lone.World.MinInsync != 1 {
			t.Fatalf("seed %d: RF %d min.insync %d, want 2 and 1", seed, lone.World.ReplicationFactor, lone.World.MinInsync)
		}
		if lone.World.Nodes != max(plain.World.Nodes, 3) {
			t.Fatalf("seed %d: %d brokers, the seed's %d", seed, lone.World.Nodes, plain.World.Nodes)
		}
		if got := lossAllowances(lone); got != nil {
			t.Fatalf("seed %d: --lone-leader allows %v; it must allow no loss", seed, got)
		}
		if lone.World.ReplicaLagMs > 10000 {
			t.Fatalf("seed %d: --lone-leader drew replica.lag.time.max %d ms", seed, lone.World.ReplicaLagMs)
		}
		a, b := *plain.World, *lone.World
		a.ReplicationFactor, a.MinInsync, b.ReplicationFactor, b.MinInsync = 0, 0, 0, 0
		a.ReplicaLagMs, b.ReplicaLagMs = 0, 0
		a.Nodes, b.Nodes = 0, 0
		if a != b {
			t.Fatalf("seed %d: --lone-leader changed the world %+v to %+v", seed, a, b)
		}
	}
}
