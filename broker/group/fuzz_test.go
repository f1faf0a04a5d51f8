package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzReplay: records read back from a log are outside bytes. Replay must
// refuse what does not decode with an error, never panic, and a shard
// that loaded anything must still serve.
func FuzzReplay(f *testing.F) {
	oc := &offsetCommit{offset: 5, leaderEpoch: 1, metadata: "m", commitMs: 1, expireMs: -1}
	r := offsetCommitRecord("g", "t", 0, oc)
	f.Add(r.Key, r.Value)
	g := newGroup("g", 0)
	g.protocolType, g.protocol, g.generation = "consumer", "range", 3
	g.add(&member{id: "m-1", protocols: []protocol{{name: "range", metadata: []byte{0, 1}}}, assignment: []byte("a")}, nil, 0)
	r = groupMetadataRecord(g, 0)
	f.Add(r.Key, r.Value)
	f.Add(r.Key, []byte(nil))
	f.Add([]byte{0, 9}, []byte{1})
	// Consumer group records (KIP-848).
	m := &consumerMember{id: "m", topicNames: []string{"t"}, rebalanceMs: 100, epoch: 2, previousEpoch: 1, state: memberUnrevoked,
		assigned: partitions{testTopicID("t"): {0, 1}}, revoking: partitions{testTopicID("t"): {2}}}
	for _, r := range []Record{
		groupEpochRecord("g", 3), targetEpochRecord("g", 3), memberMetadataRecord("g", m), currentAssignmentRecord("g", m),
		targetMemberRecord("g", "m", m.assigned), partitionMetadataRecord("g", map[string]subscribedTopic{"t": {id: testTopicID("t"), partitions: 3}}),
		currentAssignmentTombstone("g", "m"),
	} {
		f.Add(r.Key, r.Value)
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		s := NewShard(DefaultConfig(), func() string { return "x" })
		_ = s.Replay(key, value)
		s.FinishLoad(1, 1)
		req := kmsg.NewPtrListGroupsRequest()
		out := s.List(2, req, "w")
		replies := out.Replies
		if b := out.Batch; b != nil {
			// Loading may leave timeouts due, which can write records.
			replies = append(replies, s.Durable(0, b.BaseOffset+int64(len(b.Records))).Replies...)
		}
		if len(replies) != 1 {
			t.Fatalf("list answered %d times", len(replies))
		}
		d := kmsg.NewPtrDescribeGroupsRequest()
		d.Groups = s.sortedGroupIDs()
		s.Describe(2, d, "d")
		cd := kmsg.NewPtrConsumerGroupDescribeRequest()
		cd.Groups = d.Groups
		s.ConsumerDescribe(2, cd, harnessTopics{}, "cd")
		for _, id := range d.Groups {
			hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			hb.Group, hb.MemberID, hb.RebalanceTimeoutMillis = id, "m", 1000
			hb.SubscribedTopicNames, hb.Topics = []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
			s.ConsumerHeartbeat(3, hb, Client{}, harnessTopics{"t": 3}, "hb")
		}
	})
}
