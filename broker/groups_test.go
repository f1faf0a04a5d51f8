package broker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker"
)

// groupConfig is a broker whose groups form at once and accept short
// sessions, so tests do not wait for Kafka's defaults.
func groupConfig(t *testing.T) broker.Config {
	cfg := newConfig(t)
	cfg.Groups.Coordinator.InitialRebalanceDelayMs = 0
	cfg.Groups.Coordinator.MinSessionTimeoutMs = 100
	return cfg
}

// groupMember is a franz-go group consumer whose records the test reads.
type groupMember struct {
	cl *kgo.Client
	mu sync.Mutex
	// got: partition -> offsets consumed, in order.
	got map[int32][]int64
}

func (tb *testBroker) joinGroup(group, topic string, opts ...kgo.Opt) *groupMember {
	m := &groupMember{got: map[int32][]int64{}}
	m.cl = tb.client(append([]kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(2 * time.Second), kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second),
	}, opts...)...)
	return m
}

// poll reads what is there and commits it.
func (m *groupMember) poll(t *testing.T) int {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	fs := m.cl.PollFetches(ctx)
	n := 0
	fs.EachRecord(func(r *kgo.Record) {
		m.mu.Lock()
		m.got[r.Partition] = append(m.got[r.Partition], r.Offset)
		m.mu.Unlock()
		n++
	})
	if n > 0 {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := m.cl.CommitUncommittedOffsets(cctx); err != nil {
			t.Errorf("commit: %v", err)
		}
	}
	return n
}

func (tb *testBroker) produceN(t *testing.T, topic string, partitions int32, perPartition int) {
	t.Helper()
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			r := &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))}
			if err := cl.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pollUntil polls every member until want records were read in all, or
// fails the test after a while.
func pollUntil(t *testing.T, want int, members ...*groupMember) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	total := 0
	for total < want {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d records", total, want)
		}
		for _, m := range members {
			total += m.poll(t)
		}
	}
}

// TestConsumerGroupSharesAndCommits: two members of one group split a
// topic's partitions, each record read once; their commits are what the
// group's offsets say, and survive a restart; when one member leaves, the
// other takes over its partitions from the committed offsets.
func TestConsumerGroupSharesAndCommits(t *testing.T) {
	tb := startBroker(t, groupConfig(t))
	tb.createTopic("orders", 4, nil)
	tb.produceN(t, "orders", 4, 5)

	a := tb.joinGroup("billing", "orders")
	b := tb.joinGroup("billing", "orders")
	pollUntil(t, 20, a, b)
	seen := map[string]bool{}
	for _, m := range []*groupMember{a, b} {
		for p, offs := range m.got {
			for _, o := range offs {
				k := fmt.Sprintf("%d/%d", p, o)
				if seen[k] {
					t.Errorf("record %s read twice", k)
				}
				seen[k] = true
			}
		}
	}
	if len(seen) != 20 {
		t.Fatalf("read %d distinct records, want 20", len(seen))
	}

	adm := kadm.NewClient(tb.client())
	wantOffsets := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			offs, err := adm.FetchOffsets(ctxT(t), "billing")
			if err != nil {
				t.Fatal(err)
			}
			ok := true
			for p := int32(0); p < 4; p++ {
				o, found := offs.Lookup("orders", p)
				if !found || o.At != want {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("committed offsets %+v, want %d on every partition", offs, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wantOffsets(5)

	// kgo's default balancer is cooperative-sticky: a second rebalance
	// follows the first, so the group may be rebalancing for a moment.
	for deadline := time.Now().Add(10 * time.Second); ; {
		described, err := adm.DescribeGroups(ctxT(t), "billing")
		if err != nil {
			t.Fatal(err)
		}
		g := described["billing"]
		if g.State == "Stable" && len(g.Members) == 2 && g.Protocol != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("described %+v", g)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// b leaves: a takes everything, from the committed offsets.
	b.cl.Close()
	tb.produceN(t, "orders", 4, 1)
	pollUntil(t, 4, a)
	for p, offs := range a.got {
		last := offs[len(offs)-1]
		if last != 5 {
			t.Errorf("partition %d: a ended at offset %d, want 5", p, last)
		}
	}
	wantOffsets(6)
	a.cl.Close()

	tb.restart()
	adm = kadm.NewClient(tb.client())
	wantOffsets(6)
	listed, err := adm.ListGroups(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := listed["billing"]; !ok || g.State != "Empty" || g.ProtocolType != "consumer" {
		t.Fatalf("listed after restart: %+v", listed)
	}
	// A new member resumes where the group left off.
	c := tb.joinGroup("billing", "orders")
	tb.produceN(t, "orders", 4, 1)
	pollUntil(t, 4, c)
	for p, offs := range c.got {
		if offs[0] != 6 {
			t.Errorf("partition %d: resumed at %d, want 6", p, offs[0])
		}
	}
}

// TestOffsetsTopicIsInternal: __consumer_offsets is never auto-created by
// a client's metadata request; the first group lookup creates it with
// Kafka's settings; clients cannot produce to it, delete it or add
// partitions to it.
func TestOffsetsTopicIsInternal(t *testing.T) {
	tb := startBroker(t, groupConfig(t))
	cl := tb.client()
	md := kmsg.NewPtrMetadataRequest()
	name := "__consumer_offsets"
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: &name}}
	md.AllowAutoTopicCreation = true
	resp, err := md.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("metadata for %s: %+v", name, resp.Topics[0])
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctxT(t), 1, 1, nil, name); err == nil {
		t.Fatalf("a client created %s", name)
	}

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	fresp, err := fc.RequestWith(ctxT(t), cl)
	if err != nil || fresp.ErrorCode != 0 || fresp.NodeID != 1 {
		t.Fatalf("find coordinator: %+v %v", fresp, err)
	}
	// A fresh client: kgo answers metadata requests from its cache.
	adm = kadm.NewClient(tb.client())
	details, err := adm.ListTopicsWithInternal(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	d := details[name]
	if !d.IsInternal || len(d.Partitions) != 50 {
		t.Fatalf("%s: internal %v, %d partitions", name, d.IsInternal, len(d.Partitions))
	}
	configs, err := adm.DescribeTopicConfigs(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.MaybeValue() != "compact" {
			t.Errorf("%s: cleanup.policy=%s", name, c.MaybeValue())
		}
	}

	p := tb.client(kgo.DefaultProduceTopic(name))
	err = p.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to %s: %v", name, err)
	}
	dr, err := adm.DeleteTopics(ctxT(t), name)
	if err != nil || dr[name].Err == nil {
		t.Fatalf("delete %s: %+v %v", name, dr, err)
	}
	cr, err := adm.CreatePartitions(ctxT(t), 1, name)
	if err != nil || cr[name].Err == nil {
		t.Fatalf("add partitions to %s: %+v %v", name, cr, err)
	}
}

// TestGroupRequestsBeforeFindCoordinator: without __consumer_offsets this
// broker coordinates nothing yet: NOT_COORDINATOR sends the client to
// FindCoordinator, which creates it.
func TestGroupRequestsBeforeFindCoordinator(t *testing.T) {
	tb := startBroker(t, groupConfig(t))
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "g", "m", 1
	resp := rawRequest(t, tb.addr, hb).(*kmsg.HeartbeatResponse)
	if resp.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("heartbeat before the topic exists: %d", resp.ErrorCode)
	}
}

// TestCommittedOffsetsSurviveRestart: a commit's offset, metadata and
// leader epoch come back after a restart, from the log.
func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	tb := startBroker(t, groupConfig(t))
	tb.createTopic("t", 2, nil)
	adm := kadm.NewClient(tb.client())
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "t", Partition: 0, At: 42, LeaderEpoch: 3, Metadata: "hello"})
	offs.Add(kadm.Offset{Topic: "t", Partition: 1, At: 7, LeaderEpoch: -1})
	committed, err := adm.CommitOffsets(ctxT(t), "simple", offs)
	if err != nil || committed.Error() != nil {
		t.Fatalf("commit: %v %v", err, committed.Error())
	}
	// A partition that does not exist is refused by the request layer.
	bad := kadm.Offsets{}
	bad.Add(kadm.Offset{Topic: "t", Partition: 9, At: 1})
	bad.Add(kadm.Offset{Topic: "nope", Partition: 0, At: 1})
	res, err := adm.CommitOffsets(ctxT(t), "simple", bad)
	if err != nil {
		t.Fatal(err)
	}
	res.Each(func(o kadm.OffsetResponse) {
		if !errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			t.Errorf("commit to %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
	})

	for restart := 0; restart < 2; restart++ {
		got, err := adm.FetchOffsets(ctxT(t), "simple")
		if err != nil {
			t.Fatal(err)
		}
		o0, _ := got.Lookup("t", 0)
		o1, _ := got.Lookup("t", 1)
		if o0.At != 42 || o0.LeaderEpoch != 3 || o0.Metadata != "hello" || o1.At != 7 || o1.LeaderEpoch != -1 {
			t.Fatalf("after %d restarts: %+v %+v", restart, o0, o1)
		}
		if _, ok := got.Lookup("nope", 0); ok {
			t.Fatalf("an offset of a topic that does not exist was stored")
		}
		tb.restart()
		adm = kadm.NewClient(tb.client())
	}
	// Deleting the (empty) group deletes its offsets, durably.
	if _, err := adm.DeleteGroup(ctxT(t), "simple"); err != nil {
		t.Fatal(err)
	}
	tb.restart()
	adm = kadm.NewClient(tb.client())
	got, err := adm.FetchOffsets(ctxT(t), "simple")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Lookup("t", 0); ok {
		t.Fatalf("offsets of a deleted group came back: %+v", got)
	}
}

// TestDataDirLocked: a second broker on a data dir in use refuses to start
// with one line saying why; once the first stops, it starts.
func TestDataDirLocked(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	cfg := tb.cfg
	cfg.ListenAddr = "127.0.0.1:0"
	_, err := broker.Open(cfg, tb.deps)
	if err == nil || !strings.Contains(err.Error(), "in use by another broker") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("second broker on %s: %v", cfg.DataDir, err)
	}
	tb.close()
	tb.b = nil
	b, err := broker.Open(cfg, tb.deps)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	b.Close()
}
