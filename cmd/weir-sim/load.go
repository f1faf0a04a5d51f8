package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The queue workload's load in the world scenario: how many sends per
// virtual second its producer clients make together (--rate, else drawn
// from the seed), and how many processes share each client so that the
// rate can be reached while sends wait for their acknowledgement.

// defaultRates are the drawn loads, sends per virtual second across the
// queue's producer clients, a quarter of the seeds each. Half the seeds
// are at a thousand or more: requests carry batches of 5-20 records
// and a client has several requests in flight (up to kgo's five per
// broker), so the idempotent producers' sequence numbers meet faults with
// many batches outstanding. The other half keep light loads, on which a
// request carries a record or a few. 5000 (--rate) costs the guest about
// 2.5 CPU seconds per virtual second and about 2 GB of memory over a 60 s
// run, which a sweep on a loaded machine does not finish within the wall
// cap; 2000 about 1-2 s, half that since (docs/PERFORMANCE.md, "The
// simulation at volume", "The simulator's own speed").
var defaultRates = []float64{100, 500, 1000, 2000}

// drawRate draws the queue's load from the parameter stream: one draw,
// where the per-client rate was drawn before, so that the draws after it
// stay what they were.
func drawRate(rng *rand.Rand) float64 { return defaultRates[rng.IntN(len(defaultRates))] }

// sendsPerProcess is the rate one process is counted on for: a process
// has one send open at a time, and a send under load waits for linger,
// the leader's and the followers' fsyncs and the high watermark, tens of
// milliseconds, up to 60 at 2000 sends per second (more under faults,
// when the rate falls short).
const sendsPerProcess = 10

// setLoad fixes the queue's load in p.World: --rate if given, the drawn
// rate otherwise, split evenly over the producer clients, and enough
// processes per client (at least the drawn ones) to reach it.
func setLoad(p *params) {
	wp := p.World
	if p.Rate > 0 {
		wp.Rate = p.Rate
	}
	wp.RatePerSec = wp.Rate / float64(wp.Producers)
	wp.InFlight = max(wp.InFlight, int(math.Ceil(wp.RatePerSec/sendsPerProcess)))
}

// checkRate checks --rate: sends per virtual second, 0 for the seed's.
func checkRate(rate float64) error {
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return fmt.Errorf("--rate %v: want sends per second, or 0 for the seed's", rate)
	}
	return nil
}
