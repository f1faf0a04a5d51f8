package checker

import (
	"testing"
	"time"

	"github.com/weir-dev/weir/runfolder"
)

// volumeHistory is a history at the queue workload's volume in the
// simulation (weir sim --rate): two clients of 100 pipelined processes
// each over 3 partitions, about 40,000 operations.
func volumeHistory() genConfig {
	return genConfig{ops: 40_000, partitions: 3, producers: 200, perClient: 100, consumers: 2, seed: 3}
}

// At that volume porcupine stays within its default budget on a correct
// broker's history, and a check that runs out of its budget, in steps or
// in wall time, is unknown and judged a harness error: never valid.
func TestHighVolumeCheckerBudget(t *testing.T) {
	h := genHistory(volumeHistory())
	v := Check(h, Opts{})
	if v.Outcome != Valid || v.Stats.SendsOK < 15_000 {
		t.Fatalf("a correct broker's history at volume, default budget:\n%s", v.Summary())
	}
	var steps int64
	for _, r := range v.Linearizability {
		steps = max(steps, r.Steps)
	}
	for _, c := range []struct {
		name string
		opts Opts
	}{
		{"out of steps", Opts{LinearizabilitySteps: steps / 2}},
		{"out of time", Opts{LinearizabilityTimeout: time.Nanosecond}},
	} {
		code, summary, v := Judge(h, c.opts, nil)
		if v.Outcome != Unknown || !v.UnknownBecause(CheckTimeout) || code != runfolder.ExitHarness {
			t.Errorf("%s: outcome %s, exit %d, want unknown (checker-timeout), exit %d:\n%s", c.name, v.Outcome, code, runfolder.ExitHarness, summary)
		}
	}
}
