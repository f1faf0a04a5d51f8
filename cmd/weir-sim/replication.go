package main

import (
	"math/rand/v2"
	"time"
)

// seedStreamReplication separates the draw of the replication settings
// from the parameter stream, so that every other parameter of a seed stays
// what it was before they were drawn.
const seedStreamReplication = 0x7765_6972_7265_706c // "weirrepl"

// drawReplicaLag draws replica.lag.time.max.ms: Kafka's 30 s on half the
// seeds, 10 s or 5 s on the others. At 30 s a follower is rarely out of
// the ISR long enough within a 60 s safety phase for its leader to shrink
// the ISR, so the shrink, its fencing by the partition epoch and the
// expansion after it (issue 11) would meet the faults seldom; at 5 s,
// shorter than broker.session.timeout.ms, a leader cut off from its
// followers shrinks the ISR before the controller fences it.
func drawReplicaLag(seed uint64) time.Duration {
	rng := rand.New(rand.NewPCG(seed, seedStreamReplication))
	return []time.Duration{30 * time.Second, 30 * time.Second, 10 * time.Second, 5 * time.Second}[rng.IntN(4)]
}
