package group

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestHoldsParkedSync: a follower's SyncGroup parked for the leader's
// assignment is held; when the follower leaves, a correct shard answers
// it, and one with ForgetParkedSync neither answers nor holds it any more,
// which is what the broker's unanswered-group-request check sees.
func TestHoldsParkedSync(t *testing.T) {
	for _, forget := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.InitialRebalanceDelayMs = 0
		cfg.Defects.ForgetParkedSync = forget
		ids := 0
		s := NewShard(cfg, func() string { ids++; return fmt.Sprint("m", ids) })
		s.FinishLoad(0, 0)
		answered := map[Waiter]bool{}
		run := func(out Output) {
			replies := out.Replies
			if out.Batch != nil {
				replies = append(replies, s.Durable(0, out.Batch.BaseOffset+int64(len(out.Batch.Records))).Replies...)
			}
			for _, r := range replies {
				answered[r.To] = true
			}
		}
		join := func(member string, w Waiter) {
			req := kmsg.NewPtrJoinGroupRequest()
			req.Version, req.Group, req.MemberID, req.ProtocolType = 3, "g", member, "consumer"
			req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 30000, 60000
			req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("subscription")}}
			run(s.Join(1, req, Client{ID: "c"}, w))
		}
		join("", "join-1")
		join("", "join-2")
		g := s.groups["g"]
		leader, follower := g.members[0].id, g.members[1].id
		// Both rejoin with their ids so the join phase completes.
		join(leader, "rejoin-1")
		join(follower, "rejoin-2")
		if !g.is(CompletingRebalance) {
			t.Fatalf("group in state %v", g.state)
		}
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.MemberID, sync.Generation = "g", follower, g.generation
		run(s.Sync(1, sync, "sync-2"))
		if answered["sync-2"] || !s.Holds("sync-2") {
			t.Fatalf("forget=%v: the follower's sync is not parked", forget)
		}
		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.Group, leave.MemberID = "g", follower
		run(s.Leave(1, leave, "leave-2"))
		switch {
		case !forget && !answered["sync-2"]:
			t.Error("a correct shard left the leaving member's sync unanswered")
		case forget && (answered["sync-2"] || s.Holds("sync-2")):
			t.Errorf("ForgetParkedSync: answered %v, held %v", answered["sync-2"], s.Holds("sync-2"))
		}
	}
}
