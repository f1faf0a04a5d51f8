package group

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkReplay: loading a partition of __consumer_offsets that was
// never compacted, one commit record at a time (100 groups, 10 partitions
// each).
func BenchmarkReplay(b *testing.B) {
	var log []Record
	for i := 0; i < 100_000; i++ {
		oc := &offsetCommit{offset: int64(i), leaderEpoch: 3, metadata: "", commitMs: int64(i), expireMs: -1}
		log = append(log, offsetCommitRecord(fmt.Sprintf("group-%d", i%100), "orders", int32(i%10), oc))
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		s := NewShard(DefaultConfig(), func() string { return "x" })
		for _, r := range log {
			if err := s.Replay(r.Key, r.Value); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(log)), "ns/record")
}

// BenchmarkRebalance: the coordinator's work for one rebalance of a stable
// group of n members, from a member leaving to every member holding its
// new assignment (every JoinGroup and SyncGroup, records made durable at
// once). The state machine only: no network, no fsync.
func BenchmarkRebalance(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			ids := 0
			s := NewShard(DefaultConfig(), func() string { ids++; return fmt.Sprint(ids) })
			s.FinishLoad(0, 0)
			now := int64(1)
			var end int64
			run := func(out Output) []Reply {
				replies := out.Replies
				if out.Batch != nil {
					end = out.Batch.BaseOffset + int64(len(out.Batch.Records))
					replies = append(replies, s.Durable(0, end).Replies...)
				}
				return replies
			}
			join := func(member string, i int) {
				req := kmsg.NewPtrJoinGroupRequest()
				req.Version, req.Group, req.MemberID, req.ProtocolType = 3, "g", member, "consumer"
				req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 30000, 60000
				req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("subscription")}}
				run(s.Join(now, req, Client{ID: "c"}, i))
			}
			// Form the group: n members join, the first leads.
			var members []string
			for i := 0; i < n; i++ {
				join("", i)
			}
			for _, m := range s.groups["g"].members {
				members = append(members, m.id)
			}
			// rebalance makes every member rejoin and sync.
			rebalance := func() {
				g := s.groups["g"]
				var replies []Reply
				for i, m := range members {
					req := kmsg.NewPtrJoinGroupRequest()
					req.Version, req.Group, req.MemberID, req.ProtocolType = 3, "g", m, "consumer"
					req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 30000, 60000
					req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("subscription")}}
					replies = append(replies, run(s.Join(now, req, Client{ID: "c"}, i))...)
				}
				if len(replies) < len(members) {
					b.Fatalf("%d join answers for %d members", len(replies), len(members))
				}
				assign := make([]kmsg.SyncGroupRequestGroupAssignment, 0, len(members))
				for _, m := range members {
					assign = append(assign, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte("partitions")})
				}
				synced := 0
				for i, m := range members {
					req := kmsg.NewPtrSyncGroupRequest()
					req.Group, req.MemberID, req.Generation = "g", m, g.generation
					if g.isLeader(m) {
						req.GroupAssignment = assign
					}
					synced += len(run(s.Sync(now, req, i)))
				}
				if synced != len(members) {
					b.Fatalf("%d sync answers for %d members", synced, len(members))
				}
			}
			rebalance()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// The last member leaves, and joins again as a new one.
				last := members[len(members)-1]
				lreq := kmsg.NewPtrLeaveGroupRequest()
				lreq.Group, lreq.MemberID = "g", last
				run(s.Leave(now, lreq, "leave"))
				members = members[:len(members)-1]
				rebalance()
				join("", -1)
				g := s.groups["g"]
				members = append(members, g.members[len(g.members)-1].id)
				rebalance()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/rebalance")
		})
	}
}

// BenchmarkConsumerRebalance: the coordinator's work for one rebalance of
// a stable consumer-protocol group of n members on a 2n-partition topic,
// from a member leaving to every member holding its target (each member
// heartbeating with what it owns until none has anything to change;
// records made durable at once). The state machine only.
func BenchmarkConsumerRebalance(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			topics := harnessTopics{"t": int32(2 * n)}
			s := NewShard(DefaultConfig(), func() string { return "x" })
			s.FinishLoad(0, 0)
			var log int64
			epochs, owned := map[string]int32{}, map[string]partitions{}
			beat := func(id string, join bool) {
				req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
				req.Group, req.MemberID, req.MemberEpoch = "g", id, epochs[id]
				req.RebalanceTimeoutMillis, req.SubscribedTopicNames = -1, nil
				req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
				if join {
					req.MemberEpoch, req.RebalanceTimeoutMillis, req.SubscribedTopicNames = 0, 60000, []string{"t"}
				}
				for t, ps := range owned[id] {
					req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t, Partitions: ps})
				}
				out := s.ConsumerHeartbeat(0, req, Client{}, topics, "hb")
				if out.Batch != nil {
					log += int64(len(out.Batch.Records))
					out.Replies = append(out.Replies, s.Durable(0, log).Replies...)
				}
				resp := out.Replies[0].Resp.(*kmsg.ConsumerGroupHeartbeatResponse)
				if resp.ErrorCode != 0 {
					b.Fatalf("heartbeat: error %d", resp.ErrorCode)
				}
				epochs[id] = resp.MemberEpoch
				if resp.Assignment != nil {
					owned[id] = responsePartitions(resp.Assignment)
				}
			}
			settle := func(ids []string) {
				for round := 0; s.groups["g"].cg.state() != CGStable; round++ {
					if round > 10 {
						b.Fatal("the group did not settle")
					}
					for _, id := range ids {
						beat(id, false)
					}
				}
			}
			var ids []string
			for i := 0; i < n; i++ {
				ids = append(ids, fmt.Sprintf("m%d", i))
				beat(ids[i], true)
			}
			settle(ids)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// The first member leaves and joins again: two rebalances.
				leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
				leave.Group, leave.MemberID, leave.MemberEpoch = "g", ids[0], leaveEpoch
				out := s.ConsumerHeartbeat(0, leave, Client{}, topics, "leave")
				log += int64(len(out.Batch.Records))
				s.Durable(0, log)
				epochs[ids[0]], owned[ids[0]] = 0, nil
				settle(ids[1:])
				beat(ids[0], true)
				settle(ids)
			}
		})
	}
}
