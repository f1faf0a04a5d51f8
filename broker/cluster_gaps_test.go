package broker

// Cluster behaviours that clients rely on and that no other test pins
// directly: a broker refuses requests for partitions it does not lead,
// producer ids are unique across brokers, and a broker cut off from the
// metadata quorum's majority keeps serving its partitions while refusing,
// within a bounded time, to change metadata.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
)

// produceTo sends one batch for topic-index to broker id with acks=all and
// returns the partition's answer.
func (c *testCluster) produceTo(id int32, topic string, index int32, values ...string) kmsg.ProduceResponseTopicPartition {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bs := make([][]byte, len(values))
	for i, v := range values {
		bs[i] = []byte(v)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 2000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = index
	rp.Records = recordtest.Batch(recordtest.Options{}, bs...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.client().Broker(int(id)))
	if err != nil {
		c.t.Fatalf("produce to broker %d: %v", id, err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		c.t.Fatalf("produce to broker %d: answer for %d topics", id, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// fetchFrom sends one consumer Fetch for topic-index from offset 0 to
// broker id (by topic id, as current clients do) and returns the
// values of the records it returned and the partition's error.
func (c *testCluster) fetchFrom(id int32, topic string, index int32) ([]string, *kerr.Error) {
	c.t.Helper()
	ti, ok := c.image().Topic(topic)
	if !ok {
		c.t.Fatalf("no topic %s", topic)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxBytes = -1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, [16]byte(ti.ID)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = index, 0, 1<<20
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.client().Broker(int(id)))
	if err != nil {
		c.t.Fatalf("fetch from broker %d: %v", id, err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		c.t.Fatalf("fetch from broker %d: answer for %d topics", id, len(resp.Topics))
	}
	sp := resp.Topics[0].Partitions[0]
	var out []string
	for raw := sp.RecordBatches; len(raw) > 0; {
		b, err := record.Parse(raw)
		if err != nil {
			c.t.Fatalf("fetch from broker %d: %v", id, err)
		}
		if err := eachRecord(&b, func(_, v []byte) { out = append(out, string(v)) }); err != nil {
			c.t.Fatal(err)
		}
		raw = raw[len(b.Raw):]
	}
	if sp.ErrorCode == 0 {
		return out, nil
	}
	kerrp, ok := kerr.ErrorForCode(sp.ErrorCode).(*kerr.Error)
	if !ok {
		c.t.Fatalf("fetch from broker %d: error code %d", id, sp.ErrorCode)
	}
	return out, kerrp
}

// TestWrongBrokerAnswersNotLeader pins Kafka's routing contract: a broker
// that does not lead a partition answers Produce and Fetch for it with
// NOT_LEADER_OR_FOLLOWER (code 6), the error that makes clients refresh
// their metadata and go to the leader, and appends nothing; the leader
// takes the same produce. Answering UNKNOWN_TOPIC_OR_PARTITION instead
// would make clients treat an existing partition as missing.
func TestWrongBrokerAnswersNotLeader(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	const topic = "routed"
	c.createTopic(topic, 3, 1, nil)
	leaders := map[int32]bool{}
	for p := range int32(3) {
		leaders[c.leaderOf(topic, p)] = true
	}
	if len(leaders) < 2 {
		t.Fatalf("the partitions' leaders are %v: the test wants them spread", leaders)
	}
	for p := range int32(3) {
		leader := c.leaderOf(topic, p)
		other := leader%3 + 1
		if c.partitionOn(other, topic, p) != nil {
			t.Fatalf("broker %d holds a replica of %s-%d with RF=1", other, topic, p)
		}
		if sp := c.produceTo(other, topic, p, "misrouted"); sp.ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Errorf("produce %s-%d to broker %d (leader %d): %v, want NOT_LEADER_OR_FOLLOWER", topic, p, other, leader, kerr.ErrorForCode(sp.ErrorCode))
		}
		if vs, err := c.fetchFrom(other, topic, p); err != kerr.NotLeaderForPartition || len(vs) != 0 {
			t.Errorf("fetch %s-%d from broker %d (leader %d): %v with %d records, want NOT_LEADER_OR_FOLLOWER", topic, p, other, leader, err, len(vs))
		}
		if end := c.partitionOn(leader, topic, p).EndOffset(); end != 0 {
			t.Errorf("%s-%d ends at %d after only a misrouted produce", topic, p, end)
		}
		if sp := c.produceTo(leader, topic, p, "routed"); sp.ErrorCode != 0 || sp.BaseOffset != 0 {
			t.Errorf("produce %s-%d to its leader %d: %v at offset %d", topic, p, leader, kerr.ErrorForCode(sp.ErrorCode), sp.BaseOffset)
		}
		if vs, err := c.fetchFrom(leader, topic, p); err != nil || !slices.Equal(vs, []string{"routed"}) {
			t.Errorf("fetch %s-%d from its leader %d: %v, %q", topic, p, leader, err, vs)
		}
	}
}

// TestProducerIDsUniqueAcrossBrokers pins that every broker hands out
// producer ids from its own block allocated by the controller
// (AllocateProducerIDs, KIP-730): two idempotent producers that start on
// different brokers never share an id, or the partitions would mix their
// sequence numbers and reject or deduplicate each other's batches.
func TestProducerIDsUniqueAcrossBrokers(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const perBroker = 5
	seen := map[int64]int32{} // producer id -> the broker that gave it
	for id := int32(1); id <= 3; id++ {
		cl := c.client().Broker(int(id))
		for range perBroker {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.TransactionTimeoutMillis = 60000
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatalf("InitProducerId to broker %d: %v", id, err)
			}
			if resp.ErrorCode != 0 || resp.ProducerID < 0 || resp.ProducerEpoch != 0 {
				t.Fatalf("InitProducerId to broker %d: %v, id %d epoch %d", id, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch)
			}
			if by, dup := seen[resp.ProducerID]; dup {
				t.Fatalf("broker %d handed out producer id %d, which broker %d had already given", id, resp.ProducerID, by)
			}
			seen[resp.ProducerID] = id
		}
	}
	if len(seen) != 3*perBroker {
		t.Fatalf("%d distinct producer ids, want %d", len(seen), 3*perBroker)
	}
}

// TestLostQuorumServesDataRefusesMetadata pins KRaft's split between data
// and metadata: a broker whose metadata quorum lost its majority (two of
// three combined-mode voters crashed) keeps serving produce and fetch on
// the partitions it leads from its last image, since their ISR needs
// nobody else; but a metadata change (CreateTopics) cannot commit, and the
// broker must say so with REQUEST_TIMED_OUT and a message naming the lost
// majority within the request's timeout, not hang the client.
func TestLostQuorumServesDataRefusesMetadata(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	for id := int32(1); id <= 3; id++ {
		if st, _ := c.broker(id).MetadataState(); !st.Voter || len(st.Voters) != 3 {
			t.Fatalf("broker %d: voter %v of %v: the test wants three voters", id, st.Voter, st.Voters)
		}
	}
	const topic = "island"
	c.createTopic(topic, 6, 1, nil)
	// The survivor is the quorum's leader, the harder case: it must notice
	// that it lost its majority (CheckQuorum) rather than keep proposing.
	st, _ := c.broker(1).MetadataState()
	survivor, index := st.Leader, int32(-1)
	for p := range int32(6) {
		if c.leaderOf(topic, p) == survivor {
			index = p
		}
	}
	if survivor < 0 || index < 0 {
		t.Fatalf("quorum leader %d leads no partition of %s", survivor, topic)
	}
	if sp := c.produceTo(survivor, topic, index, "before0", "before1"); sp.ErrorCode != 0 {
		t.Fatalf("produce before the crashes: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	for id := int32(1); id <= 3; id++ {
		if id != survivor {
			c.crash(id)
		}
	}

	if sp := c.produceTo(survivor, topic, index, "after0"); sp.ErrorCode != 0 || sp.BaseOffset != 2 {
		t.Fatalf("produce without a quorum: %v at offset %d, want offset 2", kerr.ErrorForCode(sp.ErrorCode), sp.BaseOffset)
	}
	if vs, err := c.fetchFrom(survivor, topic, index); err != nil || !slices.Equal(vs, []string{"before0", "before1", "after0"}) {
		t.Fatalf("fetch without a quorum: %v, %q", err, vs)
	}

	c.waitFor("the survivor to see no quorum leader", 10*time.Second, func() bool {
		st, _ := c.broker(survivor).MetadataState()
		return st.Leader < 0
	})
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 3000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "stranded", 1, 1
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := req.RequestWith(ctx, c.client().Broker(int(survivor)))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("CreateTopics without a quorum: no answer after %v: %v", took, err)
	}
	t.Logf("CreateTopics without a quorum answered in %v", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("CreateTopics with a 3s timeout took %v", took)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("CreateTopics: %d topics in the answer", len(resp.Topics))
	}
	got := resp.Topics[0]
	if got.ErrorCode != kerr.RequestTimedOut.Code {
		t.Errorf("CreateTopics without a quorum: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(got.ErrorCode))
	}
	if got.ErrorMessage == nil || !strings.Contains(*got.ErrorMessage, "quorum") || !strings.Contains(*got.ErrorMessage, "majority") {
		t.Errorf("CreateTopics error message %v does not name the lost quorum majority", got.ErrorMessage)
	} else {
		t.Logf("error message: %s", *got.ErrorMessage)
	}
	if _, ok := c.broker(survivor).image().Topic("stranded"); ok {
		t.Error("the topic was created without a quorum")
	}

	// The data path still works after the refused metadata change.
	if sp := c.produceTo(survivor, topic, index, "after1"); sp.ErrorCode != 0 || sp.BaseOffset != 3 {
		t.Fatalf("second produce without a quorum: %v at offset %d, want offset 3", kerr.ErrorForCode(sp.ErrorCode), sp.BaseOffset)
	}
	if vs, err := c.fetchFrom(survivor, topic, index); err != nil || !slices.Equal(vs, []string{"before0", "before1", "after0", "after1"}) {
		t.Fatalf("second fetch without a quorum: %v, %q", err, vs)
	}
}
