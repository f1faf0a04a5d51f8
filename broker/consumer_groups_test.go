package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Consumer groups of the KIP-848 protocol, with franz-go clients that opt
// into it (kgo.ServerSideBalancer): the coordinator assigns.

// ownership tracks which member owns each partition, from the members'
// assign, revoke and lose callbacks, and notes every partition given to a
// member while another live member still owns it.
type ownership struct {
	mu         sync.Mutex
	owner      map[int32]string
	dead       map[string]bool
	violations []string
	// revokeDelay makes a member take this long to give partitions up
	// (as one committing in its revoke callback does).
	revokeDelay time.Duration
}

func newOwnership() *ownership { return &ownership{owner: map[int32]string{}, dead: map[string]bool{}} }

func (o *ownership) check(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.violations {
		t.Error(v)
	}
}

func (o *ownership) assigned(name string, ps []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range ps {
		if cur, ok := o.owner[p]; ok && cur != name && !o.dead[cur] {
			o.violations = append(o.violations, fmt.Sprintf("partition %d assigned to %s while %s still owns it", p, name, cur))
		}
		o.owner[p] = name
	}
}

func (o *ownership) released(name string, ps []int32) {
	time.Sleep(o.revokeDelay)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range ps {
		if o.owner[p] == name {
			delete(o.owner, p)
		}
	}
}

func (o *ownership) kill(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dead[name] = true
}

// killableDialer lets a test cut a client off the network at once, as a
// kill -9 would: it stops heartbeating without leaving the group.
type killableDialer struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func (d *killableDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		return nil, errors.New("killed")
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *killableDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		c.Close()
	}
}

// produceFast writes perPartition records to each partition in one flush
// (produceN waits for each record).
func (tb *testBroker) produceFast(t *testing.T, topic string, partitions int32, perPartition int) {
	t.Helper()
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var mu sync.Mutex
	var failed error
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			r := &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))}
			cl.Produce(ctxT(t), r, func(_ *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil && failed == nil {
					failed = err
				}
			})
		}
	}
	if err := cl.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if failed != nil {
		t.Fatal(failed)
	}
	cl.Close()
}

// consumerMember joins group with the consumer protocol.
func (tb *testBroker) consumerMember(name, group, topic string, own *ownership, d *killableDialer, extra ...kgo.Opt) *groupMember {
	opts := []kgo.Opt{
		kgo.ServerSideBalancer(), kgo.ClientID(name),
		// A fetch in flight holds back the partitions a member just got
		// until it returns: keep that short.
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.assigned(name, m[topic]) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.released(name, m[topic]) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.released(name, m[topic]) }),
	}
	if d != nil {
		opts = append(opts, kgo.Dialer(d.dial))
	}
	opts = append(opts, extra...)
	return tb.joinGroup(group, topic, opts...)
}

// groupReadAll reports whether the members together read every offset below
// end of each of the topic's partitions.
func groupReadAll(members []*groupMember, partitions int32, end int64) bool {
	seen := map[int32]map[int64]bool{}
	for _, m := range members {
		m.mu.Lock()
		for p, offs := range m.got {
			if seen[p] == nil {
				seen[p] = map[int64]bool{}
			}
			for _, o := range offs {
				seen[p][o] = true
			}
		}
		m.mu.Unlock()
	}
	for p := int32(0); p < partitions; p++ {
		for o := int64(0); o < end; o++ {
			if !seen[p][o] {
				return false
			}
		}
	}
	return true
}

// pollAll polls the members until, together, they read every record up to
// end on every partition.
func pollAll(t *testing.T, partitions int32, end int64, all []*groupMember, polling ...*groupMember) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !groupReadAll(all, partitions, end) {
		if time.Now().After(deadline) {
			t.Fatalf("the group did not read every record up to offset %d", end)
		}
		for _, m := range polling {
			m.poll(t)
		}
	}
}

// describeUntil describes the group until ok accepts it.
func describeUntil(t *testing.T, adm *kadm.Client, group string, ok func(kadm.DescribedConsumerGroup) bool) kadm.DescribedConsumerGroup {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := adm.DescribeConsumerGroups(ctxT(t), group)
		if err != nil {
			t.Fatal(err)
		}
		if g := d[group]; g.Err == nil && ok(g) {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("described %+v", d[group])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConsumerProtocolGroup: three franz-go consumers of the consumer
// protocol split a topic; one leaves, one is cut off (its session
// expires), one joins; no partition is ever owned by two live members at
// once, every record is read, and a member that comes last resumes at the
// committed offsets.
func TestConsumerProtocolGroup(t *testing.T) {
	cfg := groupConfig(t)
	cfg.Groups.Coordinator.ConsumerSessionTimeoutMs = 1000
	cfg.Groups.Coordinator.ConsumerHeartbeatIntervalMs = 100
	tb := startBroker(t, cfg)
	const topic, group, parts = "events", "analytics", int32(6)
	tb.createTopic(topic, parts, nil)
	tb.produceFast(t, topic, parts, 10)
	own := newOwnership()
	defer own.check(t)
	adm := kadm.NewClient(tb.client())

	killC := &killableDialer{}
	a := tb.consumerMember("a", group, topic, own, nil)
	b := tb.consumerMember("b", group, topic, own, nil)
	c := tb.consumerMember("c", group, topic, own, killC)
	all := []*groupMember{a, b, c}
	pollAll(t, parts, 10, all, a, b, c)
	// The uniform assignor gives each of the three two partitions.
	g := describeUntil(t, adm, group, func(g kadm.DescribedConsumerGroup) bool {
		if g.State != "Stable" || len(g.Members) != 3 {
			return false
		}
		for _, m := range g.Members {
			if len(m.Assignment) != 1 || len(m.Assignment[topic]) != 2 {
				return false
			}
		}
		return true
	})
	if g.AssignorName != "uniform" {
		t.Errorf("assignor %q, want uniform", g.AssignorName)
	}

	// b leaves: a and c take its partitions.
	b.cl.Close()
	tb.produceFast(t, topic, parts, 5)
	pollAll(t, parts, 15, all, a, c)
	describeUntil(t, adm, group, func(g kadm.DescribedConsumerGroup) bool { return g.State == "Stable" && len(g.Members) == 2 })

	// c is cut off: after its session, a has everything.
	own.kill("c")
	killC.kill()
	tb.produceFast(t, topic, parts, 5)
	pollAll(t, parts, 20, all, a)
	describeUntil(t, adm, group, func(g kadm.DescribedConsumerGroup) bool { return g.State == "Stable" && len(g.Members) == 1 })

	// d joins: the group splits again.
	d := tb.consumerMember("d", group, topic, own, nil)
	all = append(all, d)
	describeUntil(t, adm, group, func(g kadm.DescribedConsumerGroup) bool {
		return g.State == "Stable" && len(g.Members) == 2 && len(g.Members[0].Assignment[topic]) == 3 && len(g.Members[1].Assignment[topic]) == 3
	})
	tb.produceFast(t, topic, parts, 5)
	pollAll(t, parts, 25, all, a, d)

	// Both leave; the committed offsets are the end of every partition,
	// and the group is an empty consumer group.
	a.cl.Close()
	d.cl.Close()
	offs, err := adm.FetchOffsets(ctxT(t), group)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < parts; p++ {
		if o, ok := offs.Lookup(topic, p); !ok || o.At != 25 {
			t.Errorf("partition %d: committed %+v, want 25", p, o)
		}
	}
	listed, err := adm.ListGroups(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if l := listed[group]; l.State != "Empty" || l.ProtocolType != "consumer" {
		t.Errorf("listed %+v", l)
	}
	req := kmsg.NewPtrListGroupsRequest()
	req.TypesFilter = []string{"consumer"}
	resp, err := req.RequestWith(ctxT(t), tb.client())
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].GroupType != "consumer" {
		t.Errorf("ListGroups of type consumer: %v %+v", err, resp)
	}

	// A last member resumes where the group left off: no record skipped,
	// none read again.
	e := tb.consumerMember("e", group, topic, own, nil)
	tb.produceFast(t, topic, parts, 1)
	pollAll(t, parts, 26, append(all, e), e)
	for p, got := range e.got {
		if got[0] != 25 {
			t.Errorf("partition %d: e resumed at %d, want 25", p, got[0])
		}
	}
}

// TestConsumerProtocolOwnershipCatchesDefect: the ownership check of
// TestConsumerProtocolGroup sees a coordinator that gives a partition
// before its owner released it (Defects.AssignUnreleased).
func TestConsumerProtocolOwnershipCatchesDefect(t *testing.T) {
	cfg := groupConfig(t)
	cfg.Groups.Coordinator.ConsumerHeartbeatIntervalMs = 100
	cfg.Groups.Coordinator.Defects.AssignUnreleased = true
	tb := startBroker(t, cfg)
	const topic, group, parts = "events", "analytics", int32(6)
	tb.createTopic(topic, parts, nil)
	tb.produceFast(t, topic, parts, 10)
	own := newOwnership()
	own.revokeDelay = 300 * time.Millisecond
	a := tb.consumerMember("a", group, topic, own, nil)
	pollAll(t, parts, 10, []*groupMember{a}, a)
	b := tb.consumerMember("b", group, topic, own, nil)
	c := tb.consumerMember("c", group, topic, own, nil)
	tb.produceFast(t, topic, parts, 5)
	pollAll(t, parts, 15, []*groupMember{a, b, c}, a, b, c)
	own.mu.Lock()
	defer own.mu.Unlock()
	if len(own.violations) == 0 {
		t.Fatal("no partition was seen owned by two members")
	}
}

// TestConsumerProtocolMeetsClassic: a classic group with members refuses
// the consumer protocol (GROUP_ID_NOT_FOUND), and a consumer group with
// members refuses classic joins (INCONSISTENT_GROUP_PROTOCOL); DescribeGroups
// does not know consumer groups.
func TestConsumerProtocolMeetsClassic(t *testing.T) {
	tb := startBroker(t, groupConfig(t))
	tb.createTopic("events", 2, nil)
	tb.produceN(t, "events", 2, 1)
	own := newOwnership()
	classic := tb.joinGroup("old", "events")
	pollUntil(t, 2, classic)
	cl := tb.client()

	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Group, hb.MemberID, hb.RebalanceTimeoutMillis = "old", "m1", 5000
	hb.SubscribedTopicNames, hb.Topics = []string{"events"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp, err := hb.RequestWith(ctxT(t), cl)
	if err != nil || resp.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("heartbeat into a classic group: %v %+v", err, resp)
	}

	m := tb.consumerMember("n", "new", "events", own, nil)
	pollUntil(t, 2, m)
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "new", "consumer", 6000, 6000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0}}}
	jresp, err := join.RequestWith(ctxT(t), cl)
	if err != nil || jresp.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("classic join into a consumer group: %v %+v", err, jresp)
	}
	adm := kadm.NewClient(cl)
	described, err := adm.DescribeGroups(ctxT(t), "new")
	if err == nil && described["new"].Err == nil && described["new"].State != "Dead" {
		t.Errorf("DescribeGroups described a consumer group: %+v", described["new"])
	}
	cg, err := adm.DescribeConsumerGroups(ctxT(t), "new")
	if err != nil || cg["new"].Err != nil || len(cg["new"].Members) != 1 {
		t.Fatalf("DescribeConsumerGroups: %v %+v", err, cg)
	}
	if got := fmt.Sprint(cg["new"].Members[0].ClientID); got != "n" {
		t.Errorf("member client id %q", got)
	}
}
