package replica_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/weir-dev/weir/broker/replica"
)

// TestScenarios runs the replication scenarios in testdata/*.txt against
// the model cluster (cluster_test.go). Regenerate the expected output with
// -rewrite and read the diff: each line is a decision of the state
// machines. Commands (node ids start at 1):
//
//	init [replicas=3] [min-insync=2] [lag=10s] [truncate-on-fetch] [fetch-max=N]
//	     [defect=hw-at-leader-end|skip-truncation|unfenced-shrink]
//	meta node=N [all]      node N applies the next (all: the latest) metadata record
//	meta-all               every node applies every metadata record
//	produce node=N [records=1]
//	sync node=N
//	fetch node=N [times=1] one step (or several) of N's follower cycle
//	tick dur=D             time passes; leaders check their ISR
//	controller             the controller handles the oldest AlterPartition
//	answer                 the oldest AlterPartition answer reaches its leader
//	crash node=N [keep=K]  N loses its memory and all but K unsynced offsets
//	restart node=N
//	elect node=N [unclean]
//	remove-tombstones node=N  N's cleaner removes tombstones below its high watermark
//	state
//	check                  invariants now
//	heal                   end the faults and converge, then check everything
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var c *cluster
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if c == nil && d.Cmd != "init" {
				d.Fatalf(t, "init first")
			}
			switch d.Cmd {
			case "init":
				c = newCluster(scenarioConfig(t, d))
				for _, n := range c.nodes {
					c.deliverMeta(n.id, true)
				}
			case "meta":
				c.deliverMeta(nodeArg(t, d), d.HasArg("all"))
			case "meta-all":
				for _, n := range c.nodes {
					c.deliverMeta(n.id, true)
				}
			case "produce":
				c.produce(nodeArg(t, d), intArg(t, d, "records", 1))
			case "sync":
				c.sync(nodeArg(t, d))
			case "fetch":
				for range intArg(t, d, "times", 1) {
					c.fetch(nodeArg(t, d))
				}
			case "tick":
				dur, err := time.ParseDuration(strArg(t, d, "dur", "1s"))
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				c.tick(dur)
			case "controller":
				c.handleAlter()
			case "answer":
				c.deliverAnswer()
			case "crash":
				c.crash(nodeArg(t, d), int64(intArg(t, d, "keep", 0)))
			case "restart":
				c.restart(nodeArg(t, d))
			case "elect":
				c.elect(nodeArg(t, d), d.HasArg("unclean"))
			case "remove-tombstones":
				c.removeTombstones(nodeArg(t, d))
			case "state":
				c.out.WriteString(c.state())
			case "check":
				c.checkInvariants()
				if len(c.errs) == 0 {
					c.logf("ok")
				}
			case "heal":
				if !c.heal() {
					c.logf("did not converge")
				} else {
					c.checkConverged()
					c.logf("converged: log ends at %d everywhere", c.node(c.ctrl.leader).EndOffset())
				}
				c.out.WriteString(c.state())
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			if d.Cmd != "check" {
				c.checkInvariants()
			}
			out := c.out.String()
			c.out.Reset()
			return out
		})
	})
}

func scenarioConfig(t *testing.T, d *datadriven.TestData) clusterConfig {
	cfg := clusterConfig{
		replicas:        intArg(t, d, "replicas", 3),
		minInsync:       intArg(t, d, "min-insync", 2),
		truncateOnFetch: d.HasArg("truncate-on-fetch"),
		fetchMax:        intArg(t, d, "fetch-max", 0),
	}
	lag, err := time.ParseDuration(strArg(t, d, "lag", "10s"))
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	cfg.lag = lag
	switch strArg(t, d, "defect", "") {
	case "":
	case "hw-at-leader-end":
		cfg.defects = replica.Defects{HighWatermarkAtLeaderEnd: true}
	case "skip-truncation":
		cfg.defects = replica.Defects{SkipTruncation: true}
	case "unfenced-shrink":
		cfg.defects = replica.Defects{UnfencedShrink: true}
	default:
		d.Fatalf(t, "unknown defect")
	}
	return cfg
}

func strArg(t *testing.T, d *datadriven.TestData, key, def string) string {
	if !d.HasArg(key) {
		return def
	}
	var s string
	d.ScanArgs(t, key, &s)
	return s
}

func intArg(t *testing.T, d *datadriven.TestData, key string, def int) int {
	s := strArg(t, d, key, "")
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return v
}

func nodeArg(t *testing.T, d *datadriven.TestData) int32 {
	return int32(intArg(t, d, "node", 0))
}
