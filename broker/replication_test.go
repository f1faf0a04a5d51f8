package broker

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env/memfs"
)

// Replication across three in-process brokers (cluster_test.go): what a
// leader appends reaches every follower byte for byte; the ISR follows
// the followers; a failover keeps every acks=all record; an old leader
// cuts what it alone had; min.insync.replicas refuses; a producer's retry
// after a failover is recognised.

// replicated is the config of the tests' topics: Kafka's recommended
// durable setup.
var replicated = map[string]string{"min.insync.replicas": "2"}

// produceValues sends values to partition 0 with acks=all and fails the
// test on any error.
func produceValues(t *testing.T, cl *kgo.Client, topic string, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs := make([]*kgo.Record, len(values))
	for i, v := range values {
		rs[i] = &kgo.Record{Topic: topic, Partition: 0, Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// readAll reads partition 0 of topic from the start up to its high
// watermark, through the cluster's clients.
func (c *testCluster) readAll(topic string) []string {
	c.t.Helper()
	cl := c.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}), kgo.FetchMaxWait(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	end := c.highWatermarkOf(topic)
	var out []string
	var last int64 = -1
	for last+1 < end {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("read %s: %d records of %d by the deadline", topic, len(out), end)
		}
		fs.EachError(func(_ string, _ int32, err error) { c.t.Logf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, string(r.Value))
			last = r.Offset
		})
	}
	return out
}

func (c *testCluster) highWatermarkOf(topic string) int64 {
	c.t.Helper()
	var hw int64
	c.waitFor("a leader of "+topic, 20*time.Second, func() bool {
		l := c.leaderOf(topic, 0)
		if l < 0 {
			return false
		}
		hw = c.partitionOn(l, topic, 0).HighWatermark()
		return true
	})
	return hw
}

func values(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(from+i)
	}
	return out
}

// A leader's batches reach both followers as they are (same offsets, same
// bytes, same producer state), the high watermark covers them everywhere,
// and consumers read them in order.
func TestReplicationCopiesTheLeader(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("payments", 1, 3, replicated)
	cl := c.client()
	var want []string
	for i := range 20 {
		vs := values("v", i*10, 10)
		produceValues(t, cl, "payments", vs...)
		want = append(want, vs...)
	}
	c.converged("payments", 0)
	leader := c.leaderOf("payments", 0)
	leaderLast := c.partitionOn(leader, "payments", 0).ProducerLastOffsets()
	for _, id := range c.imagePartition("payments", 0).Replicas {
		p := c.partitionOn(id, "payments", 0)
		last := p.ProducerLastOffsets()
		if len(last) != 1 {
			t.Fatalf("broker %d knows %d producers, want 1", id, len(last))
		}
		for pid, off := range last {
			if o, ok := leaderLast[pid]; !ok || o != off {
				t.Errorf("broker %d: producer %d's last batch ends at %d, not where the leader's does", id, pid, off)
			}
		}
		if got := p.LatestEpoch(); got != c.imagePartition("payments", 0).LeaderEpoch {
			t.Errorf("broker %d: latest leader epoch %d, want %d", id, got, c.imagePartition("payments", 0).LeaderEpoch)
		}
	}
	if got := c.readAll("payments"); !slices.Equal(got, want) {
		t.Fatalf("read %d records %v..., want %d", len(got), got[:min(5, len(got))], len(want))
	}
}

// A follower that stops fetching leaves the ISR after
// replica.lag.time.max.ms, by the leader's AlterPartition (the session
// timeout is long here, so the controller does not fence it first);
// acks=all goes on with min.insync.replicas=2. Back, it catches up and the
// leader adds it to the ISR again.
func TestISRShrinksAndExpands(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SessionTimeout = time.Minute })
	c.createTopic("orders", 1, 3, replicated)
	cl := c.client()
	produceValues(t, cl, "orders", values("a", 0, 5)...)
	leader := c.leaderOf("orders", 0)
	follower := c.imagePartition("orders", 0).Replicas[0]
	if follower == leader {
		follower = c.imagePartition("orders", 0).Replicas[1]
	}
	epochBefore := c.imagePartition("orders", 0).PartitionEpoch
	c.crash(follower)
	start := time.Now()
	// A follower is out of sync only once the leader has records it
	// lacks (Kafka's isCaughtUp): an idle partition keeps its ISR.
	if sp := c.rawProduce(leader, "orders", 1, recordtest.Batch(recordtest.Options{}, []byte("b0"))); sp.ErrorCode != 0 {
		t.Fatalf("acks=1 produce: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	c.waitFor("the leader to drop the stopped follower from the ISR", 15*time.Second, func() bool {
		pi := c.imagePartition("orders", 0)
		return len(pi.ISR) == 2 && !slices.Contains(pi.ISR, follower)
	})
	t.Logf("ISR shrank %v after the crash", time.Since(start).Round(time.Millisecond))
	if pi := c.imagePartition("orders", 0); pi.Leader != leader || pi.PartitionEpoch <= epochBefore {
		t.Fatalf("after the shrink: leader %d, partition epoch %d (was %d)", pi.Leader, pi.PartitionEpoch, epochBefore)
	}
	produceValues(t, cl, "orders", values("b", 1, 4)...)

	c.start(follower)
	c.waitFor("the follower back in the ISR", 20*time.Second, func() bool {
		return slices.Contains(c.imagePartition("orders", 0).ISR, follower)
	})
	c.converged("orders", 0)
	if got := c.readAll("orders"); !slices.Equal(got, append(values("a", 0, 5), values("b", 0, 5)...)) {
		t.Fatalf("read %v", got)
	}
}

// ackLog collects what a producer was told.
type ackLog struct {
	mu     sync.Mutex
	acked  []string
	failed int
}

// Kill -9 of the leader in the middle of acks=all production: a replica
// of the ISR takes over, the producer follows it, and every acknowledged
// record is there exactly once (the idempotent producer's retries of
// batches the old leader had replicated are recognised). The old leader
// comes back and rejoins the ISR with a log identical to the new leader's.
func TestLeaderFailoverKeepsAckedRecords(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("vitals", 1, 3, replicated)
	cl := c.client(kgo.ProducerLinger(0), kgo.MaxBufferedRecords(64))
	var log ackLog
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			v := "r" + strconv.Itoa(i)
			cl.Produce(ctx, &kgo.Record{Topic: "vitals", Partition: 0, Value: []byte(v)}, func(r *kgo.Record, err error) {
				log.mu.Lock()
				defer log.mu.Unlock()
				if err != nil {
					log.failed++
					return
				}
				log.acked = append(log.acked, v)
			})
		}
	}()
	ackedCount := func() int {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.acked)
	}
	c.waitFor("acks before the crash", 20*time.Second, func() bool { return ackedCount() >= 300 })
	old := c.leaderOf("vitals", 0)
	epoch := c.imagePartition("vitals", 0).LeaderEpoch
	c.crash(old)
	crashedAt, before := time.Now(), ackedCount()
	c.waitFor("a new leader", 20*time.Second, func() bool {
		l := c.leaderOf("vitals", 0)
		return l >= 0 && l != old
	})
	c.waitFor("acks after the failover", 30*time.Second, func() bool { return ackedCount() >= before+300 })
	t.Logf("failover: leader %d -> %d, acks resumed within %v", old, c.leaderOf("vitals", 0), time.Since(crashedAt).Round(time.Millisecond))
	if pi := c.imagePartition("vitals", 0); pi.LeaderEpoch <= epoch || slices.Contains(pi.ISR, old) {
		t.Fatalf("after the failover: leader epoch %d (was %d), ISR %v", pi.LeaderEpoch, epoch, pi.ISR)
	}
	stop()
	wg.Wait()
	cl.Flush(context.Background())

	c.start(old)
	c.waitFor("the old leader back in the ISR", 30*time.Second, func() bool {
		return slices.Contains(c.imagePartition("vitals", 0).ISR, old)
	})
	c.converged("vitals", 0)
	got := c.readAll("vitals")
	count := map[string]int{}
	for _, v := range got {
		count[v]++
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, v := range log.acked {
		if count[v] == 0 {
			t.Errorf("acknowledged record %s is lost", v)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(count)) {
		if count[v] > 1 {
			t.Errorf("record %s is in the log %d times", v, count[v])
		}
	}
	t.Logf("%d acknowledged, %d failed, %d in the log", len(log.acked), log.failed, len(got))
}

// A leader cut off from its followers keeps taking acks=1 writes that
// nobody else gets, while the others elect a new leader that takes more.
// When the network heals, the old leader finds that its tail diverges
// (its epoch ends earlier on the new leader), cuts it, copies the new
// leader's records and rejoins the ISR: acks=1 writes to a deposed leader
// are lost, as Kafka documents; no acks=all write is.
func TestOldLeaderTruncatesDivergentTail(t *testing.T) {
	oldLeaderTruncates(t, nil)
}

// TestTruncationSurvivesAReadFlip: the old leader's truncation of its
// divergent tail rescans the segment it cuts, and one read of it returns a
// flipped bit (the stored bytes are intact). The truncation must read again
// rather than take the partition offline: believing the one read left the
// replica out of the ISR for good (seeds 3096 and 3108 of --faults all).
func TestTruncationSurvivesAReadFlip(t *testing.T) {
	var flip *flipOnce
	oldLeaderTruncates(t, func(c *testCluster, old int32) {
		// Byte 70 is inside the first batch's records (its header is 61
		// bytes), under its CRC: only a read of the whole batch meets it,
		// not the header walk that finds where to cut.
		flip = &flipOnce{path: "/data/clicks-0/00000000000000000000.log", at: 70}
		c.disks[old].SetInjector(flip)
	})
	if !flip.done() {
		t.Fatal("no read met the flip: the test proved nothing")
	}
}

// flipOnce is a memfs.ReadCorrupter that flips a bit of the byte at file
// offset at of path in the first read that covers it, and in no other.
type flipOnce struct {
	path string
	at   int64
	mu   sync.Mutex
	hit  bool
}

func (f *flipOnce) MaybeError(memfs.Op, string) error { return nil }

func (f *flipOnce) CorruptRead(_ memfs.Op, path string, off int64, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hit || path != f.path || f.at < off || f.at >= off+int64(len(p)) {
		return
	}
	p[f.at-off] ^= 0x10
	f.hit = true
}

func (f *flipOnce) done() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hit
}

// oldLeaderTruncates runs TestOldLeaderTruncatesDivergentTail; beforeHeal,
// if set, runs once the old leader holds its divergent tail, before the
// network heals. The old leader's partition must never go offline.
func oldLeaderTruncates(t *testing.T, beforeHeal func(c *testCluster, old int32)) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("clicks", 1, 3, replicated)
	acksAll := c.client()
	produceValues(t, acksAll, "clicks", values("shared", 0, 10)...)
	c.converged("clicks", 0)
	old := c.leaderOf("clicks", 0)
	var others []string
	for id := int32(1); id <= 3; id++ {
		if id != old {
			others = append(others, host(id))
		}
	}
	// The client reaches only the old leader, which reaches nobody else.
	c.net.Partition([]string{host(old), "client"}, others)
	if sp := c.rawProduce(old, "clicks", 1, recordtest.Batch(recordtest.Options{}, []byte("lost1"), []byte("lost2"), []byte("lost3"))); sp.ErrorCode != 0 {
		t.Fatalf("acks=1 produce to the cut-off leader: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	// acks=all is appended too, but never acknowledged: no follower gets it.
	if sp := c.rawProduce(old, "clicks", -1, recordtest.Batch(recordtest.Options{}, []byte("lost4"))); sp.ErrorCode == 0 {
		t.Fatalf("an acks=all produce to a leader cut off from its ISR was acknowledged at offset %d", sp.BaseOffset)
	}
	oldEnd := c.partitionOn(old, "clicks", 0).EndOffset()

	var newLeader int32 = -1
	c.waitFor("a leader on the majority side", 20*time.Second, func() bool {
		for _, h := range others {
			id := int32(h[1] - '0')
			b := c.broker(id)
			t, ok := b.image().Topic("clicks")
			if ok && t.Partitions[0].Leader == id {
				if p := b.topicByName("clicks").partition(0); p != nil && p.Leading() {
					newLeader = id
					return true
				}
			}
		}
		return false
	})
	// New writes reach the new leader only after the heal: the client is
	// on the old leader's side. Heal, then write with acks=all.
	if beforeHeal != nil {
		beforeHeal(c, old)
	}
	c.net.Partition()
	c.waitFor("the old leader to follow", 20*time.Second, func() bool {
		return c.leaderOf("clicks", 0) == newLeader && !c.partitionOn(old, "clicks", 0).Leading()
	})
	produceValues(t, acksAll, "clicks", values("after", 0, 10)...)
	c.waitFor("the old leader back in the ISR", 30*time.Second, func() bool {
		return slices.Contains(c.imagePartition("clicks", 0).ISR, old)
	})
	c.converged("clicks", 0)
	if end := c.partitionOn(old, "clicks", 0).EndOffset(); end != 20 {
		t.Fatalf("old leader's log ends at %d (it had %d with its divergent tail), want 20", end, oldEnd)
	}
	if oldEnd != 14 {
		t.Fatalf("the cut-off leader's log ended at %d, want 14 (10 shared, 4 of its own)", oldEnd)
	}
	want := append(values("shared", 0, 10), values("after", 0, 10)...)
	if got := c.readAll("clicks"); !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	if err := c.partitionOn(old, "clicks", 0).Err(); err != nil {
		t.Fatalf("the old leader's partition went offline: %v", err)
	}
}

// rawProduce sends one batch to broker id and returns the partition's
// answer.
func (c *testCluster) rawProduce(id int32, topic string, acks int16, batch []byte) kmsg.ProduceResponseTopicPartition {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 2000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// kgo sends a raw Produce with the client's acks.
	opts := []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}
	if acks == 1 {
		opts = []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}
	}
	resp, err := req.RequestWith(ctx, c.client(opts...).Broker(int(id)))
	if err != nil {
		c.t.Fatalf("produce to broker %d: %v", id, err)
	}
	return resp.Topics[0].Partitions[0]
}

// With fewer replicas in sync than min.insync.replicas, acks=all is
// refused before anything is appended (NOT_ENOUGH_REPLICAS) while acks=1
// is still taken; once the ISR is back, acks=all succeeds.
func TestMinInsyncRefusesAcksAll(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("ledger", 1, 3, map[string]string{"min.insync.replicas": "3"})
	leader := c.leaderOf("ledger", 0)
	var follower int32 = 1
	for follower == leader {
		follower++
	}
	c.crash(follower)
	c.waitFor("the ISR to lose the crashed follower", 20*time.Second, func() bool {
		return len(c.partitionOn(leader, "ledger", 0).ISR()) == 2
	})
	end := c.partitionOn(leader, "ledger", 0).EndOffset()
	sp := c.rawProduce(leader, "ledger", -1, recordtest.Batch(recordtest.Options{}, []byte("refused")))
	if err := kerr.ErrorForCode(sp.ErrorCode); !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with ISR 2 < min.insync 3: %v", err)
	}
	if got := c.partitionOn(leader, "ledger", 0).EndOffset(); got != end {
		t.Fatalf("a refused acks=all produce appended: log end %d -> %d", end, got)
	}
	if sp := c.rawProduce(leader, "ledger", 1, recordtest.Batch(recordtest.Options{}, []byte("taken"))); sp.ErrorCode != 0 {
		t.Fatalf("acks=1 with ISR 2: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	c.start(follower)
	c.waitFor("the ISR whole again", 20*time.Second, func() bool {
		return len(c.partitionOn(leader, "ledger", 0).ISR()) == 3
	})
	if sp := c.rawProduce(leader, "ledger", -1, recordtest.Batch(recordtest.Options{}, []byte("accepted"))); sp.ErrorCode != 0 {
		t.Fatalf("acks=all with the ISR whole: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	c.converged("ledger", 0)
	if got := c.readAll("ledger"); !slices.Equal(got, []string{"taken", "accepted"}) {
		t.Fatalf("read %v", got)
	}
}

// An idempotent producer's batch, committed on every replica, then sent
// again after its leader crashed (the producer never saw the answer) is
// recognised by the new leader from the replicated producer state: it is
// answered with the original offset and not appended twice.
func TestRetryAfterFailoverIsNotDuplicated(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("transfers", 1, 3, replicated)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	initReq := kmsg.NewPtrInitProducerIDRequest()
	initReq.TransactionTimeoutMillis = 60000
	initResp, err := initReq.RequestWith(ctx, c.client())
	if err != nil || initResp.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", err, kerr.ErrorForCode(initResp.ErrorCode))
	}
	batch := func(seq int32, vs ...string) []byte {
		bs := make([][]byte, len(vs))
		for i, v := range vs {
			bs[i] = []byte(v)
		}
		return recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: initResp.ProducerID, ProducerEpoch: initResp.ProducerEpoch, BaseSequence: seq}, bs...)
	}
	leader := c.leaderOf("transfers", 0)
	first := c.rawProduce(leader, "transfers", -1, batch(0, "t0", "t1"))
	second := c.rawProduce(leader, "transfers", -1, batch(2, "t2"))
	if first.ErrorCode != 0 || second.ErrorCode != 0 || second.BaseOffset != 2 {
		t.Fatalf("first produces: %+v %+v", first, second)
	}
	c.converged("transfers", 0)
	c.crash(leader)
	var next int32 = -1
	c.waitFor("a new leader", 20*time.Second, func() bool {
		next = c.leaderOf("transfers", 0)
		return next >= 0 && next != leader
	})
	retry := c.rawProduce(next, "transfers", -1, batch(2, "t2"))
	if retry.ErrorCode != 0 || retry.BaseOffset != 2 {
		t.Fatalf("retry of the last batch on the new leader: %v at %d, want success at 2", kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset)
	}
	if end := c.partitionOn(next, "transfers", 0).EndOffset(); end != 3 {
		t.Fatalf("the retry was appended: log end %d, want 3", end)
	}
	if sp := c.rawProduce(next, "transfers", -1, batch(3, "t3")); sp.ErrorCode != 0 || sp.BaseOffset != 3 {
		t.Fatalf("the next batch: %v at %d", kerr.ErrorForCode(sp.ErrorCode), sp.BaseOffset)
	}
	if got := c.readAll("transfers"); !slices.Equal(got, []string{"t0", "t1", "t2", "t3"}) {
		t.Fatalf("read %v", got)
	}
}

// A group's committed offsets live in __consumer_offsets, replicated like
// any partition (min(offsets.topic.replication.factor, active brokers)
// replicas): when the broker coordinating the group crashes, the new
// leader of the group's partition loads the group and answers with every
// offset that was committed.
func TestGroupOffsetsSurviveCoordinatorCrash(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.Groups.OffsetsTopicPartitions = 3 })
	c.createTopic("events", 2, 3, replicated)
	adm := kadm.NewClient(c.client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var offsets kadm.Offsets
	offsets.Add(kadm.Offset{Topic: "events", Partition: 0, At: 17, LeaderEpoch: -1})
	offsets.Add(kadm.Offset{Topic: "events", Partition: 1, At: 42, LeaderEpoch: -1})
	// UNKNOWN_TOPIC_OR_PARTITION is retriable (a coordinator that has
	// not applied the image with the new topic yet): a client retries it.
	var err error
	for attempt := 0; ; attempt++ {
		var rs kadm.OffsetResponses
		rs, err = adm.CommitOffsets(ctx, "audit", offsets)
		if err == nil {
			err = rs.Error()
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) || attempt == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if pi := c.imagePartition(offsetsTopic, 0); len(pi.Replicas) != 3 {
		t.Fatalf("%s has replicas %v, want 3", offsetsTopic, pi.Replicas)
	}
	coord := adm.FindGroupCoordinators(ctx, "audit")["audit"]
	if coord.Err != nil {
		t.Fatalf("find coordinator: %v", coord.Err)
	}
	c.crash(coord.NodeID)
	c.waitFor("another coordinator", 20*time.Second, func() bool {
		cr := adm.FindGroupCoordinators(ctx, "audit")["audit"]
		return cr.Err == nil && cr.NodeID != coord.NodeID
	})
	var fetched kadm.OffsetResponses
	adm = kadm.NewClient(c.client()) // kgo keeps the old coordinator while it cannot dial it
	c.waitFor("the offsets from the new coordinator", 20*time.Second, func() bool {
		fetched, err = adm.FetchOffsets(ctx, "audit")
		if err == nil {
			err = fetched.Error()
		}
		if err != nil {
			t.Logf("fetch offsets: %v", err)
		}
		return err == nil
	})
	for p, want := range map[int32]int64{0: 17, 1: 42} {
		if got, ok := fetched.Lookup("events", p); !ok || got.At != want {
			t.Errorf("events/%d: committed offset %+v, want %d", p, got, want)
		}
	}
}

// A small nemesis: while an idempotent acks=all producer writes to three
// partitions, brokers are crashed (power loss: unsynced data may go) and
// restarted, or cut off from the others and healed, one at a time. At the
// end every replica holds the same log, every acknowledged record is in it
// exactly once, and every ISR is whole again.
func TestReplicationSurvivesRepeatedFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of faults")
	}
	c := newTestCluster(t, 3, nil)
	c.createTopic("stream", 3, 3, replicated)
	cl := c.client(kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.MaxBufferedRecords(256), kgo.ProducerBatchCompression(kgo.NoCompression()))
	var log ackLog
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			v := "s" + strconv.Itoa(i)
			cl.Produce(ctx, &kgo.Record{Topic: "stream", Value: []byte(v)}, func(r *kgo.Record, err error) {
				log.mu.Lock()
				defer log.mu.Unlock()
				if err != nil {
					log.failed++
					return
				}
				log.acked = append(log.acked, v)
			})
		}
	}()
	seed := uint64(11)
	if s, err := strconv.ParseUint(os.Getenv("WEIR_REPLICATION_SEED"), 10, 64); err == nil {
		seed = s // to explore other fault sequences
	}
	rng := rand.New(rand.NewPCG(seed, 17))
	for round := range 6 {
		victim := int32(1 + rng.IntN(3))
		if round%2 == 0 {
			victim = max(c.leaderOf("stream", int32(round%3)), 1) // a leader, when it has one
		}
		if rng.IntN(2) == 0 {
			t.Logf("round %d: crash broker %d", round, victim)
			c.crash(victim)
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
			c.start(victim)
		} else {
			t.Logf("round %d: cut broker %d off", round, victim)
			c.net.Isolate(host(victim))
			time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
			c.net.Rejoin(host(victim))
		}
		c.waitFor("every ISR whole again", 60*time.Second, func() bool {
			for p := range int32(3) {
				if pi := c.imagePartition("stream", p); len(pi.ISR) != 3 || c.leaderOf("stream", p) < 0 {
					return false
				}
			}
			return true
		})
	}
	stop()
	wg.Wait()
	count := map[string]int{}
	for p := range int32(3) {
		c.converged("stream", p)
		leader := c.leaderOf("stream", p)
		lp := c.partitionOn(leader, "stream", p)
		if err := lp.Batches(lp.StartOffset(), func(b *record.Batch) error {
			return eachRecord(b, func(_, value []byte) { count[string(value)]++ })
		}); err != nil {
			t.Fatal(err)
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, v := range log.acked {
		if count[v] != 1 {
			t.Errorf("acknowledged record %s is in the logs %d times", v, count[v])
		}
	}
	t.Logf("%d acknowledged, %d failed, %d distinct records in the logs", len(log.acked), log.failed, len(count))
}

// OffsetForLeaderEpoch (KIP-101/279/320) is answered by the leader from its
// leader-epoch cache: where an earlier epoch ended, the log end for the
// current one; a stale current epoch is fenced, a follower refuses.
func TestOffsetForLeaderEpoch(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("epochs", 1, 3, replicated)
	first := c.leaderOf("epochs", 0)
	e0 := c.imagePartition("epochs", 0).LeaderEpoch
	produceValues(t, c.client(), "epochs", "a", "b", "c")
	c.converged("epochs", 0)
	c.crash(first)
	var leader int32 = -1
	c.waitFor("a new leader", 20*time.Second, func() bool {
		leader = c.leaderOf("epochs", 0)
		return leader >= 0 && leader != first
	})
	e1 := c.imagePartition("epochs", 0).LeaderEpoch
	produceValues(t, c.client(), "epochs", "d", "e")
	var follower int32 = 1
	for follower == first || follower == leader {
		follower++
	}
	ask := func(id int32, topic string, current, epoch int32) kmsg.OffsetForLeaderEpochResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.CurrentLeaderEpoch, rp.LeaderEpoch = current, epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, c.client().Broker(int(id)))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0]
	}
	for _, tc := range []struct {
		name           string
		broker         int32
		topic          string
		current, epoch int32
		code           *kerr.Error
		wantEpoch      int32
		wantEnd        int64
	}{
		{"the first epoch ends where the second starts", leader, "epochs", e1, e0, nil, e0, 3},
		{"the current epoch ends at the log end", leader, "epochs", e1, e1, nil, e1, 5},
		{"no current epoch sent", leader, "epochs", -1, e0, nil, e0, 3},
		{"a stale current epoch", leader, "epochs", e0, e0, kerr.FencedLeaderEpoch, -1, -1},
		{"a current epoch from the future", leader, "epochs", e1 + 1, e0, kerr.UnknownLeaderEpoch, -1, -1},
		{"a follower", follower, "epochs", e1, e0, kerr.NotLeaderForPartition, -1, -1},
		{"no such topic", leader, "nope", -1, 0, kerr.UnknownTopicOrPartition, -1, -1},
	} {
		got := ask(tc.broker, tc.topic, tc.current, tc.epoch)
		if err := kerr.ErrorForCode(got.ErrorCode); err != tc.code && !(tc.code == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
			continue
		}
		if got.LeaderEpoch != tc.wantEpoch || got.EndOffset != tc.wantEnd {
			t.Errorf("%s: epoch %d ends at %d, want %d at %d", tc.name, got.LeaderEpoch, got.EndOffset, tc.wantEpoch, tc.wantEnd)
		}
	}
}

// A topic created without a replication factor gets
// default.replication.factor replicas, all in sync.
func TestDefaultReplicationFactor(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.DefaultReplicationFactor = 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(c.client()).CreateTopic(ctx, 2, -1, nil, "defaulted")
	if err == nil {
		err = resp.Err
	}
	if err != nil || resp.ReplicationFactor != 3 {
		t.Fatalf("create: %v, replication factor %d", err, resp.ReplicationFactor)
	}
	c.waitFor("both partitions led with three replicas in sync", 20*time.Second, func() bool {
		for p := range int32(2) {
			pi := c.imagePartition("defaulted", p)
			if len(pi.Replicas) != 3 || len(pi.ISR) != 3 || c.leaderOf("defaulted", p) < 0 {
				return false
			}
		}
		return true
	})
}

// A clean stop of a leader moves its leadership first (controlled
// shutdown): by the time Close returns another replica from the ISR leads,
// with every record, and producers go on.
func TestControlledShutdownMovesLeadership(t *testing.T) {
	// A long session: only the controlled shutdown can move leadership
	// within the test's wait, not a fencing for missed heartbeats.
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.SessionTimeout = time.Minute })
	c.createTopic("moving", 1, 3, replicated)
	cl := c.client()
	produceValues(t, cl, "moving", values("m", 0, 10)...)
	old := c.leaderOf("moving", 0)
	c.stop(old)
	// The controller moved leadership before Close returned; the others'
	// images show it once they apply that record.
	c.waitFor("the others' images to show the new leader", 10*time.Second, func() bool {
		pi := c.imagePartition("moving", 0)
		return pi.Leader != old && pi.Leader >= 0 && !slices.Contains(pi.ISR, old)
	})
	produceValues(t, cl, "moving", values("m", 10, 10)...)
	if got := c.readAll("moving"); !slices.Equal(got, values("m", 0, 20)) {
		t.Fatalf("read %v", got)
	}
}

// A follower's fetch that found nothing waits at the leader, and an append
// wakes it: an acks=all produce does not wait out the followers' fetch
// wait (replica.fetch.wait.max.ms, a minute here).
func TestFollowerFetchWakesOnAppend(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.ReplicaFetchWaitMax = time.Minute })
	c.createTopic("quiet", 1, 3, replicated)
	cl := c.client()
	for i := range 3 {
		time.Sleep(50 * time.Millisecond) // the followers' fetches are parked at the leader
		// kgo does not give up on a request in flight when its context
		// ends, so measure: a produce that waited for the followers'
		// fetch wait would take a minute.
		start := time.Now()
		err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "quiet", Partition: 0, Value: []byte{byte(i)}}).FirstErr()
		if took := time.Since(start); err != nil || took > 20*time.Second {
			t.Fatalf("acks=all produce %d: %v after %v", i, err, took)
		}
	}
}

// TestFollowerCopiesCompactionGaps: a follower that was down while its
// leader compacted the log (cleanup.policy=compact: the cleaner removes
// whole batches and keeps offsets, so the log has gaps) comes back with a
// fetch offset inside a range the cleaner removed, copies the leader's
// batches across every gap at the leader's offsets, and rejoins the ISR.
// Without gap support its fetches never continue its log and it stays out
// of the ISR. The cleaner runs only when the test says (it is off in the
// brokers), so the leader's batches past the follower's old end are
// compared byte for byte.
func TestFollowerCopiesCompactionGaps(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) { cfg.LogCleanerEnable = false })
	c.createTopic("kv", 1, 3, map[string]string{
		"min.insync.replicas": "2", "cleanup.policy": "compact",
		"segment.bytes": "2048", "min.cleanable.dirty.ratio": "0.01",
	})
	cl := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	produceKeyed := func(from, n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := from; i < from+n; i++ {
			r := &kgo.Record{Topic: "kv", Partition: 0, Key: []byte("k" + strconv.Itoa(i%3)), Value: []byte("v" + strconv.Itoa(i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce v%d: %v", i, err)
			}
		}
	}
	produceKeyed(0, 20)
	c.converged("kv", 0)
	leader := c.leaderOf("kv", 0)
	follower := leader%3 + 1
	c.stop(follower)
	oldEnd := c.partitionOn(leader, "kv", 0).EndOffset()
	produceKeyed(20, 150)

	lp := c.partitionOn(leader, "kv", 0)
	lp.Clean(context.Background(), c.broker(leader).cleanConfig(c.broker(leader).topicByName("kv")))
	gaps, next := 0, lp.StartOffset()
	atOldEnd := int64(-1) // the first offset of the batch that holds oldEnd, or of the next one
	for _, raw := range batchesOf(t, lp) {
		b, err := record.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if b.FirstOffset > next {
			gaps++
		}
		if atOldEnd < 0 && b.LastOffset() >= oldEnd {
			atOldEnd = b.FirstOffset
		}
		next = b.LastOffset() + 1
	}
	if gaps < 3 {
		t.Fatalf("the leader's cleaned log has %d gaps; the test wants many", gaps)
	}
	if atOldEnd <= oldEnd {
		t.Fatalf("the follower's end %d is not inside a range the cleaner removed (next batch %d)", oldEnd, atOldEnd)
	}

	c.start(follower)
	c.waitFor("the follower back in the ISR", 20*time.Second, func() bool {
		return slices.Contains(c.imagePartition("kv", 0).ISR, follower)
	})
	if now := c.leaderOf("kv", 0); now != leader {
		t.Fatalf("leadership moved from %d to %d: the test compares with the cleaned leader's log", leader, now)
	}
	fp := c.partitionOn(follower, "kv", 0)
	if fp.Err() != nil {
		t.Fatalf("the follower's partition went offline: %v", fp.Err())
	}
	if fe, le := fp.EndOffset(), lp.EndOffset(); fe != le {
		t.Fatalf("follower ends at %d, leader at %d", fe, le)
	}
	var want, got [][]byte
	for _, x := range []struct {
		p   *partition.Partition
		out *[][]byte
	}{{lp, &want}, {fp, &got}} {
		if err := x.p.Batches(oldEnd, func(b *record.Batch) error {
			if b.FirstOffset >= oldEnd {
				*x.out = append(*x.out, bytes.Clone(b.Raw))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the follower has %d batches from offset %d, the leader %d", len(got), oldEnd, len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("batch %d from offset %d differs from the leader's", i, oldEnd)
		}
	}
}
