package stream

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// TestSessionMemberSeesEveryRevoke (the shape of payments seed 32006): a
// transactional member of a consumer-protocol group that gives up two
// partitions one after the other, with no End between them, reports both
// revokes. kgo's GroupTransactSession passes only the first on to an
// OnPartitionsRevoked callback until the next End; a member that learned
// its partitions from that callback kept the second partition in its
// history after its client gave it up, and the double-assignment check
// found it owned by two members. The member never polls here, so it never
// ends a transaction: every revoke after the first would be swallowed.
func TestSessionMemberSeesEveryRevoke(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "in"),
		kfake.BrokerConfigs(map[string]string{"group.consumer.heartbeat.interval.ms": "100"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cc := gen.ClientConfig{Bootstrap: c.ListenAddrs(), OpTimeout: time.Second}
	rec := history.NewRecorder(time.Now(), nil)
	cfg := Config{Group: "g", Input: "in", Partitions: 3, Transactional: true, Members: 3,
		GroupMode: GroupMode{Protocol: ProtocolConsumer}, NewApp: func() App { return nil },
		Procs: &gen.Procs{}, IDs: &gen.Counter{}, Rand: rand.New(rand.NewPCG(1, 2)), Client: cc}
	p, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{p: p, proc: cfg.Procs.New(), closing: new(sync.WaitGroup), cc: cc,
		held: map[int32]string{}, evProc: 100}
	if err := m.open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.sess.Close)
	held := func() []int32 {
		m.evMu.Lock()
		defer m.evMu.Unlock()
		return slices.Sorted(maps.Keys(m.held))
	}
	waitFor(t, "the member to hold every partition", func() bool { return len(held()) == 3 })

	// Two more members join one after the other; each takes a partition
	// only once the first member released it.
	var mu sync.Mutex
	others := map[int32]bool{}
	for i := range 2 {
		cl, err := cc.New(kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"), kgo.ServerSideBalancer(),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				for _, q := range ps["in"] {
					others[q] = true
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		waitFor(t, "the next member to be given a partition", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(others) == i+1
		})
	}
	mu.Lock()
	var want []int32
	for q := range int32(3) {
		if !others[q] {
			want = append(want, q)
		}
	}
	mu.Unlock()
	if got := held(); !slices.Equal(got, want) {
		t.Fatalf("the member holds %v in its history, its client %v (the others took %v)", got, want, others)
	}
	var revoked []int32
	for _, op := range rec.Ops() {
		if op.F == history.FnAssignment && op.Type == history.OK && op.Assignment.Event == history.Revoked {
			revoked = append(revoked, op.Assignment.Changed...)
		}
	}
	if len(revoked) != 2 {
		t.Errorf("the history's revokes name %v, want the two partitions the others took", revoked)
	}
}

// waitFor waits up to 10 seconds for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
