package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

// TestGroupMembers runs the consumers as members of one group that join,
// leave, crash and commit, against a real broker: the history shows
// assignments with generations, accepted commits and a final read of the
// committed offsets, and a correct broker's history is valid.
func TestGroupMembers(t *testing.T) {
	// How much happens in a few real seconds depends on the machine's
	// load: every attempt must be correct, and one of up to three must
	// show the churn (members joining again, generations, commits read
	// back) the checkers need.
	for attempt, seed := range []uint64{3, 4, 5} {
		if groupMembersRun(t, seed, attempt == 2) {
			return
		}
		t.Logf("seed %d: too little churn on this machine, trying another", seed)
	}
}

// groupMembersRun runs a group-mode queue against a broker, checks that
// it is correct, and reports whether enough churn happened; with last, too
// little is an error.
func groupMembersRun(t *testing.T, seed uint64, last bool) bool {
	addr := brokertest.StartConfig(t, func(c *broker.Config) {
		c.Groups.Coordinator.InitialRebalanceDelayMs = 0
	})
	cfg := queue.Config{
		Topic: "grouped", Partitions: 4, Producers: 1, InFlight: 4, Consumers: 3,
		Rate: 200, Duration: 4 * time.Second, Seed: seed, PollTimeout: 200 * time.Millisecond,
		Bootstrap: []string{addr},
		Group: queue.GroupConfig{Name: "g", Balancer: "range", Lifetime: time.Second,
			Downtime: 200 * time.Millisecond, CommitChance: 0.5, OffsetsChance: 0.2, LateCommitChance: 0.3},
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	start := time.Now()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	t.Logf("run took %v", time.Since(start))
	if err := queue.FinalReads(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	h := rec.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	gens := map[int32]bool{}
	committed, fetched, late, refused := 0, 0, 0, 0
	for _, op := range h {
		if op.Type != history.OK {
			continue
		}
		count[op.F]++
		switch {
		case op.Assignment != nil:
			gens[op.Assignment.Generation] = true
		case op.Commit != nil:
			for _, o := range op.Commit.Offsets {
				switch {
				case strings.HasSuffix(o.Metadata, " late"):
					late++
					if !o.Committed() {
						refused++
					}
				case o.Committed():
					committed++
				}
			}
		case op.Offsets != nil && op.Process == queue.GroupOffsetsProcess:
			for _, o := range op.Offsets.Offsets {
				if o.Offset > 0 {
					fetched++
				}
			}
		}
	}
	t.Logf("ops %v; %d generations; %d offsets committed; %d partitions with a committed offset at the end; %d late commits, %d refused", count, len(gens), committed, fetched, late, refused)
	if late != refused {
		t.Errorf("%d late commits (of an older generation) accepted", late-refused)
	}
	v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()})
	if !v.Valid() {
		t.Fatalf("group history judged:\n%s", v.Summary())
	}
	for _, name := range checker.GroupAnomalies() {
		if c := v.Check(name); c.Status != checker.StatusClean {
			t.Errorf("%s: %s (%s)", name, c.Status, c.Note)
		}
	}
	enough := count[history.FnJoin] >= 4 && len(gens) >= 2 && committed > 0 && fetched > 0
	if !enough && last {
		dumpGroupOps(t, h)
		t.Errorf("want members joining again, several generations, commits and committed offsets read back")
	}
	return enough
}

func dumpGroupOps(t *testing.T, h []history.Op) {
	for _, op := range h {
		if op.F == history.FnCommit || op.F == history.FnAssignment || op.F == history.FnJoin || op.F == history.FnOffsets {
			t.Log(op.String())
		}
	}
}
