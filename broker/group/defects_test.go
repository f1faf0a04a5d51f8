package group

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchTopicMax: with the defect, OffsetFetch answers each partition
// with the topic's highest committed offset; without it, with its own.
func TestFetchTopicMax(t *testing.T) {
	for _, defect := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Defects.FetchTopicMax = defect
		s := NewShard(cfg, func() string { return "m" })
		s.FinishLoad(0, 0)
		durable := func(out Output) []Reply {
			replies := out.Replies
			if out.Batch != nil {
				replies = append(replies, s.Durable(0, out.Batch.BaseOffset+int64(len(out.Batch.Records))).Replies...)
			}
			return replies
		}
		// An admin commit (no generation) to an empty group: 5 and 9.
		c := kmsg.NewPtrOffsetCommitRequest()
		c.Version, c.Group, c.Generation = 8, "g", -1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "t"
		for p, o := range []int64{5, 9} {
			cp := kmsg.NewOffsetCommitRequestTopicPartition()
			cp.Partition, cp.Offset = int32(p), o
			ct.Partitions = append(ct.Partitions, cp)
		}
		c.Topics = append(c.Topics, ct)
		if rs := durable(s.Commit(1, c, 1)); len(rs) != 1 {
			t.Fatalf("%d answers to a commit", len(rs))
		}
		f := kmsg.NewPtrOffsetFetchRequest()
		f.Version = 8
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		f.Groups = append(f.Groups, rg)
		rs := durable(s.FetchOffsets(2, f, 2))
		if len(rs) != 1 {
			t.Fatalf("%d answers to a fetch", len(rs))
		}
		resp := rs[0].Resp.(*kmsg.OffsetFetchResponse)
		got := map[int32]int64{}
		for _, tp := range resp.Groups[0].Topics {
			for _, p := range tp.Partitions {
				got[p.Partition] = p.Offset
			}
		}
		want := map[int32]int64{0: 5, 1: 9}
		if defect {
			want[0] = 9
		}
		if got[0] != want[0] || got[1] != want[1] {
			t.Errorf("defect %v: fetched %v, want %v", defect, got, want)
		}
	}
}

// TestAcceptStaleGeneration: a member's commit naming an older generation
// is ILLEGAL_GENERATION, unless the defect accepts it.
func TestAcceptStaleGeneration(t *testing.T) {
	for _, defect := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.InitialRebalanceDelayMs = 0
		cfg.Defects.AcceptStaleGeneration = defect
		s := NewShard(cfg, func() string { return "m1" })
		s.FinishLoad(0, 0)
		var last []Reply
		run := func(out Output) {
			last = out.Replies
			if out.Batch != nil {
				last = append(last, s.Durable(0, out.Batch.BaseOffset+int64(len(out.Batch.Records))).Replies...)
			}
		}
		join := func(member string) {
			req := kmsg.NewPtrJoinGroupRequest()
			req.Version, req.Group, req.MemberID, req.ProtocolType = 3, "g", member, "consumer"
			req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 30000, 60000
			req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("s")}}
			run(s.Join(1, req, Client{ID: "c"}, "join"))
		}
		var id string
		sync := func(gen int32) {
			req := kmsg.NewPtrSyncGroupRequest()
			req.Group, req.MemberID, req.Generation = "g", id, gen
			req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: id, MemberAssignment: []byte("a")}}
			run(s.Sync(1, req, "sync"))
		}
		join("")
		id = s.groups["g"].members[0].id
		sync(1)
		join(id) // a rejoin: generation 2
		sync(2)
		if g := s.groups["g"]; g.generation != 2 || !g.is(Stable) {
			t.Fatalf("generation %d, state %v", g.generation, g.state)
		}
		c := kmsg.NewPtrOffsetCommitRequest()
		c.Version, c.Group, c.MemberID, c.Generation = 8, "g", id, 1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "t"
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Offset = 5
		ct.Partitions = append(ct.Partitions, cp)
		c.Topics = append(c.Topics, ct)
		run(s.Commit(1, c, "commit"))
		if len(last) != 1 {
			t.Fatalf("%d answers", len(last))
		}
		code := last[0].Resp.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
		if want := map[bool]int16{false: kerr.IllegalGeneration.Code, true: 0}[defect]; code != want {
			t.Errorf("defect %v: code %d, want %d", defect, code, want)
		}
	}
}

// TestUnfencedStaticMember: a static member that joins again under a new
// member id fences the old one (FENCED_INSTANCE_ID to its heartbeat and
// its commit), in both protocols, unless the defect keeps the old id
// working.
func TestUnfencedStaticMember(t *testing.T) {
	instance := "i"
	for _, consumer := range []bool{false, true} {
		for _, defect := range []bool{false, true} {
			cfg := DefaultConfig()
			cfg.InitialRebalanceDelayMs = 0
			cfg.Defects.UnfencedStaticMember = defect
			n := 0
			s := NewShard(cfg, func() string { n++; return fmt.Sprint("id", n) })
			s.FinishLoad(0, 0)
			run := durableAtOnce(s)
			var oldID string
			var gen int32
			var heartbeat func() int16
			if consumer {
				beat := func(id string, epoch int32) *kmsg.ConsumerGroupHeartbeatResponse {
					req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
					req.Group, req.MemberID, req.MemberEpoch, req.InstanceID = "g", id, epoch, &instance
					req.RebalanceTimeoutMillis, req.SubscribedTopicNames, req.Topics = 60000, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
					return run(s.ConsumerHeartbeat(1, req, Client{}, harnessTopics{"t": 2}, "hb"))[0].Resp.(*kmsg.ConsumerGroupHeartbeatResponse)
				}
				oldID, gen = "old", beat("old", 0).MemberEpoch
				leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
				leave.Group, leave.MemberID, leave.MemberEpoch, leave.InstanceID = "g", oldID, -2, &instance
				run(s.ConsumerHeartbeat(1, leave, Client{}, harnessTopics{"t": 2}, "leave"))
				if r := beat("new", 0); r.ErrorCode != 0 || r.MemberEpoch != gen {
					t.Fatalf("the new incarnation's join: error %d, epoch %d, want %d", r.ErrorCode, r.MemberEpoch, gen)
				}
				heartbeat = func() int16 { return beat(oldID, gen).ErrorCode }
			} else {
				join := func() *kmsg.JoinGroupResponse {
					req := kmsg.NewPtrJoinGroupRequest()
					req.Version, req.Group, req.ProtocolType, req.InstanceID = 5, "g", "consumer", &instance
					req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 30000, 60000
					req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("s")}}
					return run(s.Join(1, req, Client{ID: "c"}, "join"))[0].Resp.(*kmsg.JoinGroupResponse)
				}
				r := join()
				oldID, gen = r.MemberID, r.Generation
				sync := kmsg.NewPtrSyncGroupRequest()
				sync.Version, sync.Group, sync.MemberID, sync.Generation, sync.InstanceID = 3, "g", oldID, gen, &instance
				sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: oldID, MemberAssignment: []byte("a")}}
				run(s.Sync(1, sync, "sync"))
				if r := join(); r.ErrorCode != 0 || r.MemberID == oldID || r.Generation != gen {
					t.Fatalf("the new incarnation's join: error %d, member %s (old %s), generation %d, want %d", r.ErrorCode, r.MemberID, oldID, r.Generation, gen)
				}
				heartbeat = func() int16 {
					req := kmsg.NewPtrHeartbeatRequest()
					req.Version, req.Group, req.MemberID, req.Generation, req.InstanceID = 3, "g", oldID, gen, &instance
					return run(s.Heartbeat(1, req, "hb"))[0].Resp.(*kmsg.HeartbeatResponse).ErrorCode
				}
			}
			c := kmsg.NewPtrOffsetCommitRequest()
			c.Version, c.Group, c.MemberID, c.Generation, c.InstanceID = 9, "g", oldID, gen, &instance
			ct := kmsg.NewOffsetCommitRequestTopic()
			ct.Topic = "t"
			cp := kmsg.NewOffsetCommitRequestTopicPartition()
			cp.Offset = 5
			ct.Partitions = append(ct.Partitions, cp)
			c.Topics = append(c.Topics, ct)
			commit := run(s.Commit(1, c, "commit"))[0].Resp.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
			hb := heartbeat()
			fenced := kerr.FencedInstanceID.Code
			if consumer {
				fenced = kerr.UnknownMemberID.Code // the commit's member is gone; the heartbeat is FENCED_INSTANCE_ID
			}
			if defect && (commit != 0 || hb != 0) || !defect && (commit != fenced || hb != kerr.FencedInstanceID.Code) {
				t.Errorf("consumer protocol %v, defect %v: the old incarnation's commit %d, heartbeat %d", consumer, defect, commit, hb)
			}
		}
	}
}

// TestAcceptStaleMemberEpoch: a consumer-protocol member's commit naming an
// epoch it no longer has is STALE_MEMBER_EPOCH, unless the defect accepts
// it.
func TestAcceptStaleMemberEpoch(t *testing.T) {
	for _, defect := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Defects.AcceptStaleMemberEpoch = defect
		s := NewShard(cfg, func() string { return "x" })
		s.FinishLoad(0, 0)
		run := durableAtOnce(s)
		beat := func(id string) int32 {
			req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			req.Group, req.MemberID, req.MemberEpoch = "g", id, 0
			req.RebalanceTimeoutMillis, req.SubscribedTopicNames, req.Topics = 60000, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
			return run(s.ConsumerHeartbeat(1, req, Client{}, harnessTopics{"t": 2}, "hb"))[0].Resp.(*kmsg.ConsumerGroupHeartbeatResponse).MemberEpoch
		}
		first := beat("a")
		beat("b") // the group epoch moves on
		if now := beat("a"); now <= first {
			t.Fatalf("member a's epoch %d after %d", now, first)
		}
		c := kmsg.NewPtrOffsetCommitRequest()
		c.Version, c.Group, c.MemberID, c.Generation = 9, "g", "a", first
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "t"
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Offset = 5
		ct.Partitions = append(ct.Partitions, cp)
		c.Topics = append(c.Topics, ct)
		code := run(s.Commit(1, c, "commit"))[0].Resp.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
		if want := map[bool]int16{false: kerr.StaleMemberEpoch.Code, true: 0}[defect]; code != want {
			t.Errorf("defect %v: code %d, want %d", defect, code, want)
		}
	}
}

// durableAtOnce returns a runner of s's outputs for tests: each batch is
// durable as soon as it is written (the log's end moves by its records),
// and the replies that waited on it join the output's.
func durableAtOnce(s *Shard) func(Output) []Reply {
	var log int64
	return func(out Output) []Reply {
		if out.Batch != nil {
			log += int64(len(out.Batch.Records))
			out.Replies = append(out.Replies, s.Durable(0, log).Replies...)
		}
		return out.Replies
	}
}
