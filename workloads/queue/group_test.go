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
		if c := v.Check(name); c.Status != checker.StatusClean && name != checker.UnfencedInstance { // no static members here
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

// TestGroupModes runs the group with the consumer protocol (KIP-848) and
// with static members (KIP-345) against a real broker: the joins record
// the mode, members get partitions, commits are accepted, and the history
// is valid. The static runs make every crash a zombie: the old process
// stops while its next incarnation joins, then goes on, and none of its
// commits may be accepted; with the broker's group-static-unfenced
// defect, unfenced-instance must find one.
func TestGroupModes(t *testing.T) {
	for _, c := range []groupMode{
		{name: "consumer protocol", protocol: queue.ProtocolConsumer},
		{name: "static members", protocol: queue.ProtocolClassic, static: true},
		{name: "consumer protocol, static members", protocol: queue.ProtocolConsumer, static: true},
		{name: "static members, old incarnation unfenced", protocol: queue.ProtocolClassic, static: true,
			defect: broker.GroupStaticUnfenced, want: checker.UnfencedInstance},
	} {
		t.Run(c.name, func(t *testing.T) {
			// How much churn a few real seconds hold depends on the
			// machine's load: every attempt must be correct, and one of
			// three must show it (and catch the defect, if any).
			for attempt, seed := range []uint64{7, 8, 9} {
				if groupModeRun(t, c, seed, attempt == 2) {
					return
				}
				t.Logf("seed %d: too little churn on this machine, trying another", seed)
			}
		})
	}
}

// groupMode is a case of TestGroupModes.
type groupMode struct {
	name     string
	protocol string
	static   bool
	defect   string // planted in the broker: the run must be invalid
	want     string // the anomaly that catches it
}

// groupModeRun is one attempt of TestGroupModes: it fails the test on a
// wrong history, and reports whether the run showed enough churn (and
// caught the defect); with last, too little fails too.
func groupModeRun(t *testing.T, c groupMode, seed uint64, last bool) bool {
	defects, err := broker.ParseDefect(c.defect)
	if err != nil {
		t.Fatal(err)
	}
	addr := brokertest.StartConfig(t, func(b *broker.Config) {
		b.Groups.Coordinator.InitialRebalanceDelayMs = 0
		b.Groups.Coordinator.ConsumerSessionTimeoutMs = 3000
		b.Groups.Coordinator.ConsumerHeartbeatIntervalMs = 500
		b.Defects = defects
	})
	g := queue.GroupConfig{Name: "g", Balancer: "range", Lifetime: 1500 * time.Millisecond,
		Downtime: 200 * time.Millisecond, CommitChance: 0.5, OffsetsChance: 0.2, LateCommitChance: 0.3,
		Protocol: c.protocol, Static: c.static, CrashShare: 0.7, ZombieShare: 1, ZombieGap: 1500 * time.Millisecond, ZombieLife: time.Second}
	cfg := queue.Config{
		Topic: "moded", Partitions: 4, Producers: 1, InFlight: 4, Consumers: 3,
		Rate: 200, Duration: 5 * time.Second, Seed: seed, PollTimeout: 200 * time.Millisecond,
		Bootstrap: []string{addr}, Group: g,
	}
	h := runWithFinalReads(t, cfg, 60*time.Second)
	joins, assigned, committed := 0, 0, 0
	instances := map[string]bool{}
	for _, op := range h {
		switch {
		case op.Join != nil && op.Type == history.OK:
			joins++
			if (op.Join.Protocol == history.ProtocolConsumer) != (c.protocol == queue.ProtocolConsumer) {
				t.Fatalf("join recorded protocol %q", op.Join.Protocol)
			}
			if (op.Join.InstanceID != "") != c.static {
				t.Fatalf("join recorded instance %q", op.Join.InstanceID)
			}
			instances[op.Join.InstanceID] = true
		case op.Assignment != nil && op.Type == history.OK && op.Assignment.Event == history.Assigned && len(op.Assignment.Changed) > 0:
			assigned++
		case op.Commit != nil && op.Type == history.OK:
			for _, o := range op.Commit.Offsets {
				if o.Committed() {
					committed++
				}
			}
		}
	}
	t.Logf("%d joins (%d instances), %d assignments, %d offsets committed", joins, len(instances), assigned, committed)
	if joins < 4 || assigned == 0 || committed == 0 {
		if last {
			dumpGroupOps(t, h)
			t.Fatal("want members joining again, partitions assigned and offsets committed")
		}
		return false
	}
	if c.static && len(instances) != cfg.Consumers {
		t.Errorf("%d instance ids for %d member slots", len(instances), cfg.Consumers)
	}
	v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()})
	if c.defect != "" {
		if v.Check(c.want).Status != checker.StatusFound {
			if last {
				t.Fatalf("%s not caught by %s:\n%s", c.defect, c.want, v.Summary())
			}
			return false
		}
		t.Logf("%s: %s", c.want, v.Anomalies[c.want][0].Detail)
		return true
	}
	if !v.Valid() {
		dumpGroupOps(t, h)
		t.Fatalf("history judged:\n%s", v.Summary())
	}
	if want := map[bool]checker.Status{true: checker.StatusClean, false: checker.StatusNotChecked}[c.static]; v.Check(checker.UnfencedInstance).Status != want {
		t.Errorf("unfenced-instance: %s, want %s", v.Check(checker.UnfencedInstance).Status, want)
	}
	return true
}
