package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// TestLateCommitNotSentAgainAtANewEpoch: a consumer-protocol member's late
// commit of a partition it owns again goes out once, at the epoch it was
// made in, and is refused; the partition's committed offset stays the
// member's newer commit. Through kgo's CommitOffsetsSync, the refusal
// (STALE_MEMBER_EPOCH) made kgo send the commit again 500 ms later at the
// member's current epoch, which the coordinator rightly accepted: the
// group's offset went back, and the history said an epoch-old commit was
// accepted (seed 2 of --group on,consumer: nonmonotonic-commit and
// committed-redelivery on a correct broker).
func TestLateCommitNotSentAgainAtANewEpoch(t *testing.T) {
	addr := brokertest.StartConfig(t, func(c *broker.Config) {
		c.Groups.Coordinator.InitialRebalanceDelayMs = 0
		c.Groups.Coordinator.ConsumerHeartbeatIntervalMs = 500
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := Config{Topic: "late", Bootstrap: []string{addr}, OpTimeout: 10 * time.Second, PollTimeout: 200 * time.Millisecond,
		Group: GroupConfig{Name: "g", Protocol: ProtocolConsumer, Balancer: "cooperative-sticky", SessionTimeout: 6 * time.Second, RebalanceTimeout: 10 * time.Second}}
	if err := gen.CreateTopics(ctx, cfg.clientConfig("admin"), gen.Topic{Name: cfg.Topic, Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	rec := history.NewRecorder(time.Now(), nil)
	m := &member{w: &worker{cfg: &cfg, rec: rec}, g: &cfg.Group, pid: 1, events: 2, closing: &sync.WaitGroup{},
		owned: map[int32]bool{}, next: map[int32]history.GroupOffset{}, committed: map[int32]int64{}, gone: map[int32]lateOffset{}}
	if !m.join() {
		t.Fatal("the member could not join")
	}
	defer m.cl.Close()
	for owned := 0; owned < 2; {
		if ctx.Err() != nil {
			t.Fatal("the member never got both partitions")
		}
		pctx, pcancel := context.WithTimeout(ctx, cfg.PollTimeout)
		m.cl.PollFetches(pctx)
		pcancel()
		m.cl.AllowRebalance()
		m.mu.Lock()
		owned = len(m.owned)
		m.mu.Unlock()
	}
	_, epoch := m.cl.GroupMetadata()
	at := func(off int64) history.GroupOffset {
		return history.GroupOffset{Topic: cfg.Topic, Partition: 1, Offset: off, LeaderEpoch: -1}
	}
	m.mu.Lock()
	m.next[1] = at(10)
	m.mu.Unlock()
	if !m.commit(ctx) {
		t.Fatal("the member's commit had no answer")
	}
	// As if the member had processed partition 1 up to 5 at the epoch
	// before, lost it, and been given it back since.
	m.mu.Lock()
	m.gone[1] = lateOffset{off: at(5), gen: epoch - 1}
	m.mu.Unlock()
	if !m.lateCommit(ctx) {
		t.Fatal("the late commit had no answer")
	}

	ops := rec.Ops()
	last := ops[len(ops)-1]
	if last.F != history.FnCommit || last.Type != history.OK || len(last.Commit.Offsets) != 1 {
		t.Fatalf("last op %s, want the late commit's completion", last.String())
	}
	if o := last.Commit.Offsets[0]; o.Committed() || last.Commit.Generation != epoch-1 {
		t.Errorf("late commit of %d recorded committed=%v at generation %d (error %q), want refused at %d", o.Offset, o.Committed(), last.Commit.Generation, o.Error, epoch-1)
	}
	offs, err := kadm.NewClient(m.cl).FetchOffsets(ctx, cfg.Group.Name)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := offs.Lookup(cfg.Topic, 1); !ok || r.Err != nil || r.At != 10 {
		t.Errorf("partition 1's committed offset %+v, want 10 (the member's commit at epoch %d)", r, epoch)
	}
}
