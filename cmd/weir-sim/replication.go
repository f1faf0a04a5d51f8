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
//
// Runs with lone-leader windows (--lone-leader, --unclean-election) draw
// 10 s or 5 s only: a window waits up to twice the lag for the ISR to
// shrink (a leader checks every half lag), then keeps the leader down
// 12 s, which at 30 s does not fit a 60 s phase. The seeds that draw 10 s
// or 5 s otherwise keep it.
func drawReplicaLag(seed uint64, loneWindows bool) time.Duration {
	rng := rand.New(rand.NewPCG(seed, seedStreamReplication))
	lags := []time.Duration{30 * time.Second, 30 * time.Second, 10 * time.Second, 5 * time.Second}
	if loneWindows {
		lags[0], lags[1] = 10*time.Second, 5*time.Second
	}
	return lags[rng.IntN(4)]
}
