package replica_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/replica"
)

// draw picks an integer in [0, n): from rapid (shrinkable) or from a seeded
// source (the defect hunts, which must fail and so cannot run under rapid).
type draw func(label string, n int) int

// runModel drives a model cluster with random operations, the faults
// included (crashes that lose unsynced data, elections from the ISR,
// messages delayed and reordered between node and controller), checking
// the invariants after each operation; then heals everything and requires
// the replicas to converge. It returns the violations found.
//
// The invariants (cluster_test.go checkInvariants, checkHW,
// checkConverged):
//   - every offset below a high watermark a leader reached is durable and
//     unchanged on every replica in the controller's ISR, so no election
//     the controller can make loses or changes it (the Kafka promise);
//   - no replica's high watermark or leader epoch goes back within an
//     incarnation (a follower's falls only with a recopy); every epoch
//     cache is strictly increasing;
//   - no ISR member empties its log to copy it again (a recopy: its log
//     ends below the leader's tombstone mark);
//   - after healing, every replica has the same log, which holds every
//     committed offset and every acknowledged record.
func runModel(cfg clusterConfig, d draw) *cluster {
	c := newCluster(cfg)
	for _, n := range c.nodes {
		c.deliverMeta(n.id, true)
	}
	node := func() int32 { return int32(d("node", cfg.replicas) + 1) }
	ops := []struct {
		weight int
		run    func()
	}{
		{3, func() { c.produce(node(), d("records", 3)+1) }},
		{3, func() { c.sync(node()) }},
		{8, func() { c.fetch(node()) }},
		{2, func() { c.tick(time.Duration(d("tickMs", int(cfg.lag/time.Millisecond))) * time.Millisecond) }},
		{2, func() { c.handleAlter() }},
		{2, func() { c.deliverAnswer() }},
		{3, func() { c.deliverMeta(node(), d("metaAll", 2) == 0) }},
		{1, func() { c.crash(node(), int64(d("keep", 4))) }},
		{1, func() { c.bounce(node(), int64(d("keep", 4))) }},
		{1, func() { c.restart(node()) }},
		{1, func() { c.elect(node(), false) }},
		{1, func() { c.removeTombstones(node()) }},
	}
	total := 0
	for _, op := range ops {
		total += op.weight
	}
	steps := d("steps", 250) + 1
	for range steps {
		pick := d("op", total)
		for _, op := range ops {
			if pick < op.weight {
				op.run()
				break
			}
			pick -= op.weight
		}
		c.checkInvariants()
		if len(c.errs) > 0 {
			return c
		}
	}
	if !c.heal() {
		c.violate("did not converge after healing:\n%s", c.state())
		return c
	}
	c.checkConverged()
	return c
}

func modelConfig(d draw, defects replica.Defects) clusterConfig {
	return clusterConfig{
		replicas:        3,
		minInsync:       d("minInsync", 2) + 1,
		lag:             10 * time.Second,
		truncateOnFetch: d("truncateOnFetch", 2) == 0,
		fetchMax:        d("fetchMax", 3),
		defects:         defects,
	}
}

// TestPropertyReplication: the replication rules keep the Kafka promise
// under random schedules of appends, fetches, fsyncs, crashes, elections
// and message delays.
func TestPropertyReplication(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := func(label string, n int) int { return rapid.IntRange(0, n-1).Draw(rt, label) }
		c := runModel(modelConfig(d, replica.Defects{}), d)
		if len(c.errs) > 0 {
			rt.Fatalf("%s\n--- trace ---\n%s", strings.Join(c.errs, "\n"), c.out.String())
		}
	})
}

// TestPropertyCatchesDefects: the same property, run on seeded schedules
// with each planted defect, finds a violation within a bounded number of
// seeds, so the property is shown able to fail.
func TestPropertyCatchesDefects(t *testing.T) {
	const maxSeeds = 300
	for _, tc := range []struct {
		name    string
		defects replica.Defects
	}{
		{"high watermark at the leader's log end", replica.Defects{HighWatermarkAtLeaderEnd: true}},
		{"follower skips truncation", replica.Defects{SkipTruncation: true}},
		{"ISR shrink not fenced by the partition epoch", replica.Defects{UnfencedShrink: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A lost or changed committed record, not only a failure to
			// converge: the promise itself must be seen broken.
			for seed := uint64(1); seed <= maxSeeds; seed++ {
				rng := rand.New(rand.NewPCG(seed, 0))
				d := func(_ string, n int) int { return rng.IntN(n) }
				c := runModel(modelConfig(d, tc.defects), d)
				if len(c.errs) > 0 && !strings.HasPrefix(c.errs[0], "did not converge") {
					t.Logf("caught at seed %d: %s", seed, c.errs[0])
					return
				}
			}
			t.Fatalf("no lost or changed committed record in %d seeds: the property cannot see this defect", maxSeeds)
		})
	}
}

// TestPropertyCorrectOnSeeds runs the correct rules on the same seeded
// schedules the defect hunts use, so a defect caught there is not a
// false alarm of the model.
func TestPropertyCorrectOnSeeds(t *testing.T) {
	seeds := uint64(300)
	if testing.Short() {
		seeds = 50
	}
	if n, err := strconv.ParseUint(os.Getenv("WEIR_REPLICA_SEEDS"), 10, 64); err == nil {
		seeds = n // a longer hunt: WEIR_REPLICA_SEEDS=100000
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		d := func(_ string, n int) int { return rng.IntN(n) }
		c := runModel(modelConfig(d, replica.Defects{}), d)
		if len(c.errs) > 0 {
			t.Fatalf("seed %d: %s\n--- trace ---\n%s", seed, strings.Join(c.errs, "\n"), tail(c.out.String(), 120))
		}
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... %d lines", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}
