package quorum

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/controller"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/sim/simnet"
)

// cluster is an in-process quorum on a simulated network and memfs disks,
// on the real clock with short ticks.
type cluster struct {
	t      *testing.T
	net    *simnet.Network
	rng    *rand.Rand
	voters []Voter
	disks  map[int32]*memfs.FS
	nodes  map[int32]*Node
	hist   *History
	tune   func(*Config)
}

func newCluster(t *testing.T, voters int, tune func(*Config)) *cluster {
	return newTracedCluster(t, voters, nil, tune)
}

// newTracedCluster is newCluster with the network's events (simnet's
// Options.Trace) handed to trace.
func newTracedCluster(t *testing.T, voters int, trace func(time.Duration, string), tune func(*Config)) *cluster {
	c := &cluster{
		t:     t,
		net:   simnet.New(rand.New(rand.NewPCG(uint64(voters), 7)), simnet.Options{LatencyMin: 50 * time.Microsecond, LatencyMax: 400 * time.Microsecond, Trace: trace}),
		rng:   rand.New(rand.NewPCG(11, 13)),
		disks: map[int32]*memfs.FS{},
		nodes: map[int32]*Node{},
		hist:  NewHistory(),
		tune:  tune,
	}
	for id := int32(1); id <= int32(voters); id++ {
		c.voters = append(c.voters, Voter{ID: id, Addr: fmt.Sprintf("c%d:9093", id)})
	}
	for _, v := range c.voters {
		c.start(v.ID)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.Close()
		}
	})
	return c
}

func (c *cluster) config(id int32) Config {
	cfg := Config{
		NodeID: id, Voters: c.voters, ListenAddr: c.listenAddr(id), Dir: "/data/quorum",
		FS: c.disks[id], Net: c.net.Host(fmt.Sprintf("c%d", id)), Clock: env.RealClock{},
		Rand:         rand.New(rand.NewPCG(uint64(id), 1)),
		TickInterval: 2 * time.Millisecond, ElectionTicks: 20, HeartbeatTicks: 2,
		RequestTimeout: 2 * time.Second, Observer: c.hist.Record,
	}
	cfg.Controller = controller.DefaultConfig()
	if c.tune != nil {
		c.tune(&cfg)
	}
	return cfg
}

// listenAddr is a voter's configured address, or a learner's own.
func (c *cluster) listenAddr(id int32) string {
	for _, v := range c.voters {
		if v.ID == id {
			return v.Addr
		}
	}
	return fmt.Sprintf("c%d:9093", id)
}

func (c *cluster) start(id int32) *Node {
	if c.disks[id] == nil {
		c.disks[id] = memfs.New()
	}
	n, err := Start(context.Background(), c.config(id))
	if err != nil {
		c.t.Fatalf("start node %d: %v", id, err)
	}
	c.nodes[id] = n
	return n
}

// crash kills a node's process: its host is fenced, its disk loses power
// (keeping a seeded part of what was not fsynced), its goroutines end.
func (c *cluster) crash(id int32) {
	c.net.KillHost(fmt.Sprintf("c%d", id))
	c.disks[id] = c.disks[id].Crash(c.rng, 0.5)
	c.nodes[id].Close()
	delete(c.nodes, id)
}

// waitFor blocks until cond holds, waking on every node's changes.
func (c *cluster) waitFor(what string, d time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s; status %s", d, what, c.describe())
		}
		cases := make([]<-chan struct{}, 0, len(c.nodes))
		for _, n := range c.nodes {
			cases = append(cases, n.changes())
		}
		wakeOnAny(cases, 20*time.Millisecond)
	}
}

func wakeOnAny(chs []<-chan struct{}, d time.Duration) {
	done := make(chan struct{})
	defer close(done)
	woke := make(chan struct{}, len(chs)+1)
	for _, ch := range chs {
		go func() {
			select {
			case <-ch:
				woke <- struct{}{}
			case <-done:
			}
		}()
	}
	select {
	case <-woke:
	case <-time.After(d):
	}
}

func (c *cluster) describe() string {
	var b strings.Builder
	for _, id := range c.ids() {
		s := c.nodes[id].Status()
		fmt.Fprintf(&b, "[n%d leader=%d term=%d commit=%d applied=%d deciding=%t err=%v] ", id, s.Leader, s.Term, s.Committed, s.Applied, s.Deciding, s.Err)
	}
	return b.String()
}

func (c *cluster) ids() []int32 {
	ids := make([]int32, 0, len(c.nodes))
	for id := range c.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// leader waits for one node to decide, among the nodes in ids (all
// running nodes if none given), and returns it.
func (c *cluster) leader(ids ...int32) int32 {
	c.t.Helper()
	if len(ids) == 0 {
		ids = c.ids()
	}
	var l int32 = -1
	c.waitFor("a deciding leader", 5*time.Second, func() bool {
		for _, id := range ids {
			if c.nodes[id].Status().Deciding {
				l = id
				return true
			}
		}
		return false
	})
	return l
}

// converged waits for every running node to hold the same image.
func (c *cluster) converged() *metadata.Image {
	c.t.Helper()
	var img *metadata.Image
	c.waitFor("identical images", 5*time.Second, func() bool {
		var want []byte
		for _, id := range c.ids() {
			got := metadata.EncodeSnapshot(nil, c.nodes[id].Image())
			if want != nil && string(got) != string(want) {
				return false
			}
			want, img = got, c.nodes[id].Image()
		}
		return true
	})
	return img
}

func (c *cluster) checkHistory() {
	c.t.Helper()
	violations, entries := c.hist.Check()
	if entries == 0 {
		c.t.Fatal("the history is empty: nothing was checked")
	}
	for _, v := range violations {
		c.t.Errorf("violation: %s", v)
	}
}

func submit[T kmsg.Response](t *testing.T, n *Node, req kmsg.Request) T {
	t.Helper()
	resp, err := n.Submit(context.Background(), req)
	if err != nil {
		t.Fatalf("submit %T: %v", req, err)
	}
	return resp.(T)
}

func registerBroker(t *testing.T, n *Node, id int32) int64 {
	t.Helper()
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID, req.IncarnationID[0] = id, 1
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", fmt.Sprintf("b%d", id), 9092
	req.Listeners = append(req.Listeners, l)
	resp := submit[*kmsg.BrokerRegistrationResponse](t, n, req)
	if resp.ErrorCode != 0 {
		t.Fatalf("register %d: %s", id, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.BrokerEpoch
}

func heartbeat(t *testing.T, n *Node, id int32, epoch int64) *kmsg.BrokerHeartbeatResponse {
	t.Helper()
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = id, epoch
	req.CurrentMetadataOffset = int64(n.Image().Offset().Index)
	return submit[*kmsg.BrokerHeartbeatResponse](t, n, req)
}

func createTopic(t *testing.T, n *Node, name string, partitions int32, rf int16) *kmsg.CreateTopicsResponseTopic {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	req.Topics = append(req.Topics, rt)
	resp := submit[*kmsg.CreateTopicsResponse](t, n, req)
	return &resp.Topics[0]
}

// activeBrokers registers brokers 1..k through node n and unfences them.
func activeBrokers(t *testing.T, n *Node, k int32) map[int32]int64 {
	epochs := map[int32]int64{}
	for id := int32(1); id <= k; id++ {
		epochs[id] = registerBroker(t, n, id)
	}
	for id := int32(1); id <= k; id++ {
		unfenceBroker(t, n, id, epochs[id])
	}
	return epochs
}

// unfenceBroker heartbeats broker id until the controller unfences it, as
// a broker does: the controller unfences a broker only once the metadata
// offset its heartbeat names has reached the broker's registration, and
// the offset comes from node n's image, which can trail the log when n is
// a follower or leadership just moved (2 ms ticks on a loaded machine).
func unfenceBroker(t *testing.T, n *Node, id int32, epoch int64) {
	t.Helper()
	for try := 0; ; try++ {
		r := heartbeat(t, n, id, epoch)
		if r.ErrorCode != 0 {
			t.Fatalf("heartbeat %d: %s", id, kerr.ErrorForCode(r.ErrorCode))
		}
		if !r.IsFenced {
			return
		}
		if try == 200 {
			t.Fatalf("heartbeat %d: still fenced after %d heartbeats (image offset %d)", id, try+1, n.Image().Offset().Index)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func follower(c *cluster, leader int32) int32 {
	for _, id := range c.ids() {
		if id != leader {
			return id
		}
	}
	return -1
}

func testElectionsAndProposals(t *testing.T, voters int) {
	c := newCluster(t, voters, nil)
	l := c.leader()
	f := follower(c, l)
	// Through a follower: forwarded to the leader.
	activeBrokers(t, c.nodes[f], 3)
	if st := createTopic(t, c.nodes[f], "orders", 6, 2); st.ErrorCode != 0 {
		t.Fatalf("create: %s", kerr.ErrorForCode(st.ErrorCode))
	}
	if st := createTopic(t, c.nodes[l], "orders", 1, 1); st.ErrorCode != kerr.TopicAlreadyExists.Code {
		t.Fatalf("second create: %v", kerr.ErrorForCode(st.ErrorCode))
	}
	img := c.converged()
	topic, ok := img.Topic("orders")
	if !ok || len(topic.Partitions) != 6 || img.ClusterID() == "" || len(img.Brokers()) != 3 {
		t.Fatalf("image: cluster %q brokers %d topic %v", img.ClusterID(), len(img.Brokers()), topic)
	}
	for _, id := range c.ids() {
		if s := c.nodes[id].Status(); s.Leader != l || s.Applied != img.Offset().Index || len(s.Voters) != voters {
			t.Fatalf("node %d status %+v", id, s)
		}
	}
	c.checkHistory()
}

func TestElectionsAndProposals3(t *testing.T) { testElectionsAndProposals(t, 3) }
func TestElectionsAndProposals5(t *testing.T) { testElectionsAndProposals(t, 5) }

func TestSingleVoter(t *testing.T) {
	c := newCluster(t, 1, nil)
	activeBrokers(t, c.nodes[c.leader()], 1)
	if st := createTopic(t, c.nodes[1], "t", 3, 1); st.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(st.ErrorCode))
	}
	c.checkHistory()
}

// A voter crashes (losing what it had not fsynced, a torn tail included),
// the others go on, and it comes back from its disk and catches up.
func TestCrashAndRestartRecoversLog(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	activeBrokers(t, c.nodes[l], 3)
	createTopic(t, c.nodes[l], "before", 3, 3)
	victim := follower(c, l)
	before := c.nodes[victim].Status().Applied
	c.crash(victim)
	createTopic(t, c.nodes[l], "during", 3, 3)
	n := c.start(victim)
	// Everything it had applied was fsynced before it was acknowledged:
	// its own disk gives the log back, torn tail or not.
	if last, _ := n.log.LastIndex(); last < before {
		t.Fatalf("restarted node recovered its log to %d, had applied %d", last, before)
	}
	img := c.converged()
	if _, ok := img.Topic("during"); !ok {
		t.Fatal("the restarted node did not catch up")
	}
	// The leader itself crashes; the survivors elect another.
	c.crash(l)
	l2 := c.leader()
	createTopic(t, c.nodes[l2], "after", 1, 2)
	c.start(l)
	img = c.converged()
	if _, ok := img.Topic("after"); !ok {
		t.Fatal("the old leader did not catch up")
	}
	c.checkHistory()
}

// A whole quorum restarted on other ports (the operator changed
// controller.quorum.voters) finds itself again: the configured addresses
// win over those its snapshots remember.
func TestRestartOnNewAddresses(t *testing.T) {
	c := newCluster(t, 3, nil)
	activeBrokers(t, c.nodes[c.leader()], 3)
	if tp := createTopic(t, c.nodes[c.leader()], "before", 1, 3); tp.ErrorCode != 0 {
		t.Fatalf("create topic: error %d", tp.ErrorCode)
	}
	for _, id := range c.ids() {
		c.crash(id)
	}
	for i := range c.voters {
		c.voters[i].Addr = fmt.Sprintf("c%d:19093", c.voters[i].ID)
	}
	for _, v := range c.voters {
		c.start(v.ID)
	}
	c.leader()
	img := c.converged()
	if _, ok := img.Topic("before"); !ok {
		t.Fatal("the topic created before the restart is gone")
	}
	c.checkHistory()
}

// An isolated leader steps down (CheckQuorum); the majority elects
// another and takes writes; the old leader's writes fail, boundedly.
func TestPartitionedLeaderStepsDown(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.RequestTimeout = 500 * time.Millisecond })
	l := c.leader()
	activeBrokers(t, c.nodes[l], 3)
	oldTerm := c.nodes[l].Status().Term
	c.net.Isolate(fmt.Sprintf("c%d", l))
	var others []int32
	for _, id := range c.ids() {
		if id != l {
			others = append(others, id)
		}
	}
	l2 := c.leader(others...)
	if l2 == l || c.nodes[l2].Status().Term <= oldTerm {
		t.Fatalf("new leader %d in term %d (old %d in %d)", l2, c.nodes[l2].Status().Term, l, oldTerm)
	}
	if st := createTopic(t, c.nodes[l2], "majority", 1, 1); st.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(st.ErrorCode))
	}
	start := time.Now()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "minority", 1, 1
	req.Topics = append(req.Topics, rt)
	_, err := c.nodes[l].Submit(context.Background(), req)
	if err == nil {
		t.Fatal("a write on the isolated old leader succeeded")
	}
	if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrLeadershipLost) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refused write took %s", d)
	}
	c.net.Heal()
	img := c.converged()
	if _, ok := img.Topic("minority"); ok {
		t.Fatal("the minority's write was applied")
	}
	c.checkHistory()
}

// With two of three voters gone, writes fail with ErrUnavailable within
// the request timeout instead of hanging.
func TestLostMajorityRefusesWrites(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.RequestTimeout = 300 * time.Millisecond })
	l := c.leader()
	activeBrokers(t, c.nodes[l], 1)
	survivor := follower(c, l)
	for _, id := range c.ids() {
		if id != survivor {
			c.crash(id)
		}
	}
	start := time.Now()
	_, err := c.nodes[survivor].Submit(context.Background(), kmsg.NewPtrCreateTopicsRequest())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %s", d)
	}
	if !strings.Contains(err.Error(), "no leader with a majority") {
		t.Fatalf("unclear error: %v", err)
	}
}

// A node that is not a voter joins as a learner, follows the log, and
// forwards its requests to the leader.
func TestLearnerFollows(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	activeBrokers(t, c.nodes[l], 3)
	learner := c.start(4)
	c.waitFor("the learner joined", 5*time.Second, func() bool {
		return slices.Contains(c.nodes[l].Status().Learners, 4) && learner.Status().Applied > 0
	})
	if st := createTopic(t, learner, "from-learner", 2, 1); st.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(st.ErrorCode))
	}
	img := c.converged()
	if _, ok := img.Topic("from-learner"); !ok {
		t.Fatal("no topic")
	}
	if s := learner.Status(); s.Voter || !slices.Contains(s.Learners, 4) {
		t.Fatalf("learner status %+v", s)
	}
	// Wait delivers each change to a follower of the image.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan *metadata.Image, 1)
	go func() {
		img, err := learner.Wait(ctx, img.Offset())
		if err == nil {
			got <- img
		}
		close(got)
	}()
	createTopic(t, c.nodes[l], "watched", 1, 1)
	next := <-got
	if next == nil || next.Offset().Index <= img.Offset().Index {
		t.Fatal("Wait did not deliver the next image")
	}
	c.checkHistory()
}

// Snapshots compact the log; a node restarted from a snapshot and a
// learner that joins after compaction both get the whole image.
func TestSnapshotsAndCompaction(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.SnapshotEntries = 16 })
	l := c.leader()
	activeBrokers(t, c.nodes[l], 3)
	for i := range 40 {
		createTopic(t, c.nodes[l], fmt.Sprintf("t%02d", i), 1, 1)
	}
	c.converged()
	// A node may be between writing its newest snapshot and removing the
	// older one (its loop compacts after applying): wait for it to settle.
	compacted := func(id int32) (bool, string) {
		names, _ := c.disks[id].List("/data/quorum")
		var snaps, wals int
		for _, n := range names {
			snaps += b2i(strings.HasPrefix(n, "snap-"))
			wals += b2i(strings.HasPrefix(n, "wal-"))
		}
		first, _ := c.nodes[id].log.FirstIndex()
		return snaps == 1 && wals == 1 && first > 2, fmt.Sprintf("node %d: %d snapshots, %d WALs, first index %d: %v", id, snaps, wals, first, names)
	}
	for _, id := range c.ids() {
		c.waitFor("one snapshot and one WAL on every node", 5*time.Second, func() bool {
			ok, state := compacted(id)
			if !ok {
				t.Log(state)
			}
			return ok
		})
	}
	victim := follower(c, l)
	c.crash(victim)
	c.start(victim)
	learner := c.start(4)
	img := c.converged()
	if len(img.Topics()) != 40 || learner.Image().PartitionCount() != 40 {
		t.Fatalf("topics %d, learner partitions %d", len(img.Topics()), learner.Image().PartitionCount())
	}
	c.checkHistory()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The metadata checker catches a planted controller defect: fencing a
// broker moves leadership without raising the leader epoch, so two
// brokers lead one partition in one epoch. The same run without the
// defect is valid.
func TestCheckerCatchesReusedLeaderEpoch(t *testing.T) {
	for _, planted := range []bool{false, true} {
		t.Run(fmt.Sprintf("planted=%t", planted), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) {
				cfg.Controller.SessionTimeout = 300 * time.Millisecond
				cfg.Controller.Defects.ReuseLeaderEpoch = planted
			})
			l := c.leader()
			epochs := activeBrokers(t, c.nodes[l], 2)
			createTopic(t, c.nodes[l], "t", 2, 2)
			// Broker 1 stops heartbeating; broker 2 keeps on until 1 is fenced.
			c.waitFor("broker 1 fenced", 5*time.Second, func() bool {
				heartbeat(t, c.nodes[l], 2, epochs[2])
				br, _ := c.nodes[l].Image().Broker(1)
				return br.Fenced
			})
			c.converged()
			violations, entries := c.hist.Check()
			if entries == 0 {
				t.Fatal("nothing checked")
			}
			if planted && len(violations) == 0 {
				t.Fatal("the checker missed the planted defect")
			}
			if !planted && len(violations) > 0 {
				t.Fatalf("violations without a defect: %v", violations)
			}
			for _, v := range violations {
				if v.Rule != "epochs" && v.Rule != "leader-epoch" {
					t.Errorf("unexpected violation %s", v)
				}
			}
		})
	}
}
