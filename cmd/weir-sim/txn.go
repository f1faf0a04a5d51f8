package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/weir-dev/weir/workloads/queue"
)

// seedStreamTxn separates the draw of the queue's transactional mode from
// the parameter stream, so that every other parameter of a seed stays what
// it was before the mode existed.
const seedStreamTxn = 0x7765_6972_7478_6e73 // "weirtxns"

// txnShare is the share of world seeds whose queue workload runs
// transactions (Jepsen's txn mode: queue.TxnConfig) when --txn leaves it
// to the seed.
const txnShare = 0.25

// txnModes are the values of --txn.
var txnModes = []string{"seed", "on", "off"}

func checkTxnMode(mode string) error {
	for _, m := range txnModes {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("--txn %q: want seed, on or off", mode)
}

// drawTxn decides whether a world run is transactional: --txn on or off,
// else the seed, on txnShare of the seeds.
func drawTxn(mode string, seed uint64) bool {
	switch mode {
	case "on":
		return true
	case "off":
		return false
	}
	return rand.New(rand.NewPCG(seed, seedStreamTxn)).Float64() < txnShare
}

// txnConfig is the queue's transactional mode for a world run; nil when
// the run is not transactional. A transactional producer ends a
// transaction every few milliseconds, so the run's transactions are many
// and short, and a crash or a delay meets one often.
func txnConfig(wp *worldParams) *queue.TxnConfig {
	if !wp.Txn {
		return nil
	}
	return &queue.TxnConfig{Processes: 2, MaxSends: 4, AbortChance: 0.2}
}
