package quorum

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// A node's applied entries, built by hand: the alter-partition rule judges
// each entry's records against the image the node had right before it.
func TestHistoryAlterPartitionRule(t *testing.T) {
	id := metadata.TopicID{1}
	setup := []metadata.Record{
		&metadata.RegisterBrokerRecord{NodeID: 1, Epoch: 1},
		&metadata.RegisterBrokerRecord{NodeID: 2, Epoch: 1},
		&metadata.TopicRecord{Name: "t", ID: id},
		&metadata.PartitionRecord{TopicID: id, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
	}
	fence2 := []metadata.Record{ // the controller takes 2 out: partition epoch 1
		&metadata.FenceBrokerRecord{NodeID: 2, Epoch: 1},
		&metadata.PartitionChangeRecord{TopicID: id, Leader: metadata.NoLeaderChange, ISR: []int32{1}, PartitionEpoch: 1},
	}
	grow := func(from int32) []metadata.Record { // the leader puts 2 back
		return []metadata.Record{&metadata.PartitionChangeRecord{TopicID: id, Leader: metadata.NoLeaderChange, ISR: []int32{1, 2}, PartitionEpoch: 2,
			Request: &metadata.LeaderRequest{BrokerID: 1, BrokerEpoch: 1, PartitionEpoch: from}}}
	}
	for _, tc := range []struct {
		name    string
		entries [][]metadata.Record
		flagged bool
	}{
		{"the leader's change from the current epoch", [][]metadata.Record{setup, fence2, nil, grow(1)}, false},
		{"the leader's change from before the controller's", [][]metadata.Record{setup, fence2, nil, grow(0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory()
			img := metadata.Empty(nil)
			h.Record(Event{Kind: EventLeader, Node: 1, Term: 1, Leader: 1})
			for i, recs := range tc.entries {
				next, err := img.Apply(metadata.Offset{Index: uint64(i + 1), Term: 1}, recs)
				if err != nil {
					t.Fatal(err)
				}
				img = next
				h.Record(Event{Kind: EventApply, Node: 1, Term: 1, Index: uint64(i + 1), Image: img, Records: recs})
			}
			violations, entries := h.Check()
			if entries != len(tc.entries) {
				t.Fatalf("checked %d entries, recorded %d", entries, len(tc.entries))
			}
			var found []Violation
			for _, v := range violations {
				if v.Rule != "alter-partition" {
					t.Fatalf("unexpected violation %s", v)
				}
				found = append(found, v)
			}
			if tc.flagged != (len(found) == 1) || len(found) > 1 {
				t.Fatalf("flagged: %v, want one: %t", found, tc.flagged)
			}
			if tc.flagged && !strings.Contains(found[0].Detail, "node 1 index 4: t/0: broker 1's ISR change to [1 2] (partition epoch 2) was computed from partition epoch 0 and accepted at partition epoch 1") {
				t.Fatalf("detail %q", found[0].Detail)
			}
		})
	}
}

// The metadata checker catches the planted SkipPartitionEpochCheck defect
// through a real quorum: the leader's AlterPartition from before the
// controller's own ISR change is accepted, and its record names the epoch
// it was computed from. Without the defect the same request is refused
// and the history is valid.
func TestCheckerCatchesStalePartitionEpoch(t *testing.T) {
	for _, planted := range []bool{false, true} {
		t.Run(fmt.Sprintf("planted=%t", planted), func(t *testing.T) {
			c := newCluster(t, 1, func(cfg *Config) {
				cfg.Controller.Defects.SkipPartitionEpochCheck = planted
			})
			n := c.nodes[c.leader()]
			epochs := activeBrokers(t, n, 3)
			createTopic(t, n, "t", 1, 3)
			before, _ := n.Image().Topic("t")
			p := before.Partitions[0]
			// The controller takes a follower out of the ISR (fenced on
			// request), then the follower comes back.
			var follower int32 = p.ISR[1]
			fence := kmsg.NewPtrBrokerHeartbeatRequest()
			fence.BrokerID, fence.BrokerEpoch, fence.WantFence = follower, epochs[follower], true
			submit[*kmsg.BrokerHeartbeatResponse](t, n, fence)
			if r := heartbeat(t, n, follower, epochs[follower]); r.ErrorCode != 0 || r.IsFenced {
				t.Fatalf("unfence %d: %s fenced=%t", follower, kerr.ErrorForCode(r.ErrorCode), r.IsFenced)
			}
			// The leader's change, computed before the controller's:
			// it shrinks the ISR to itself and the follower.
			req := leaderISRChange(before, epochs, follower)
			checkStaleChange(t, c, submit[*kmsg.AlterPartitionResponse](t, n, req), planted)
		})
	}
}

// checkStaleChange checks the controller's answer to a stale AlterPartition
// and the metadata checker's verdict on the cluster's history: without the
// defect the change is refused (INVALID_UPDATE_VERSION) and the history is
// clean; with it (planted) the change is accepted and the alter-partition
// rule, and only it, flags a stale ISR change.
func checkStaleChange(t *testing.T, c *cluster, resp *kmsg.AlterPartitionResponse, planted bool) {
	t.Helper()
	code := resp.Topics[0].Partitions[0].ErrorCode
	if want := map[bool]int16{false: kerr.InvalidUpdateVersion.Code, true: 0}[planted]; code != want {
		t.Fatalf("the stale change was answered %v", kerr.ErrorForCode(code))
	}
	c.converged()
	violations, entries := c.hist.Check()
	if entries == 0 {
		t.Fatal("nothing checked")
	}
	if planted != (len(violations) > 0) {
		t.Fatalf("planted=%t, violations %v", planted, violations)
	}
	for _, v := range violations {
		if v.Rule != "alter-partition" || !strings.Contains(v.Detail, "a stale ISR change") {
			t.Errorf("unexpected violation %s", v)
		}
	}
}

// leaderISRChange is the AlterPartition the leader of topic t's partition
// 0 sends (its broker epoch from epochs) to make the ISR itself and
// member, computed from the partition epoch the image before shows.
func leaderISRChange(t *metadata.Topic, epochs map[int32]int64, member int32) *kmsg.AlterPartitionRequest {
	p := t.Partitions[0]
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 2
	req.BrokerID, req.BrokerEpoch = p.Leader, epochs[p.Leader]
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.TopicID = t.ID
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.LeaderEpoch, rp.PartitionEpoch, rp.NewISR = p.LeaderEpoch, p.PartitionEpoch, []int32{p.Leader, member}
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}
