package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/metadata"
)

// activeCluster registers n brokers (racks[i] if given) and unfences them.
func activeCluster(t fataler, n int, racks []string) *scenario {
	return activeClusterWith(t, DefaultConfig(), n, racks)
}

func activeClusterWith(t fataler, cfg Config, n int, racks []string) *scenario {
	s := newScenario(t, cfg)
	for id := int32(1); id <= int32(n); id++ {
		req := kmsg.NewPtrBrokerRegistrationRequest()
		req.BrokerID, req.IncarnationID[0] = id, 1
		if racks != nil {
			req.Rack = &racks[id-1]
		}
		s.decide(req)
	}
	for id := int32(1); id <= int32(n); id++ {
		s.heartbeatOK(id, false)
	}
	return s
}

func (s *scenario) heartbeatOK(id int32, shutdown bool) {
	br, _ := s.img.Broker(id)
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch, req.CurrentMetadataOffset = id, br.Epoch, int64(s.img.Offset().Index)
	req.WantShutdown = shutdown
	s.decide(req)
}

func (s *scenario) create(name string, partitions int32, rf int16) *kmsg.CreateTopicsResponseTopic {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	req.Topics = append(req.Topics, rt)
	res := s.decide(req)
	return &res.Response.(*kmsg.CreateTopicsResponse).Topics[0]
}

func spread(counts map[int32]int, n int) (lo, hi int) {
	lo, hi = 1<<30, 0
	for id := int32(1); id <= int32(n); id++ {
		lo, hi = min(lo, counts[id]), max(hi, counts[id])
	}
	return lo, hi
}

// One topic on brokers without racks: leaders per broker and replicas per
// broker each differ by at most one, and no partition repeats a broker.
func TestPlacementBalancedWithinOne(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 9).Draw(rt, "brokers")
		rf := rapid.IntRange(1, n).Draw(rt, "rf")
		parts := rapid.IntRange(1, 60).Draw(rt, "partitions")
		s := activeCluster(rt, n, nil)
		if st := s.create("t", int32(parts), int16(rf)); st.ErrorCode != 0 {
			rt.Fatalf("create: %s", errName(st.ErrorCode))
		}
		topic, _ := s.img.Topic("t")
		leaders, replicas := map[int32]int{}, map[int32]int{}
		for i, p := range topic.Partitions {
			if len(p.Replicas) != rf || hasDuplicates(p.Replicas) || p.Leader != p.Replicas[0] {
				rt.Fatalf("partition %d: replicas %v leader %d", i, p.Replicas, p.Leader)
			}
			leaders[p.Leader]++
			for _, r := range p.Replicas {
				replicas[r]++
			}
		}
		if lo, hi := spread(leaders, n); hi-lo > 1 {
			rt.Fatalf("leaders per broker %v: spread %d..%d", leaders, lo, hi)
		}
		if lo, hi := spread(replicas, n); hi-lo > 1 {
			rt.Fatalf("replicas per broker %v: spread %d..%d", replicas, lo, hi)
		}
	})
}

// With racks of equal size, a partition's replicas span min(rf, racks)
// racks, and the balance still holds.
func TestPlacementRackAware(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nracks := rapid.IntRange(2, 4).Draw(rt, "racks")
		perRack := rapid.IntRange(1, 3).Draw(rt, "per-rack")
		n := nracks * perRack
		racks := make([]string, n)
		for i := range racks {
			racks[i] = fmt.Sprintf("rack-%d", i%nracks)
		}
		rf := rapid.IntRange(1, n).Draw(rt, "rf")
		parts := rapid.IntRange(1, 40).Draw(rt, "partitions")
		s := activeCluster(rt, n, racks)
		if st := s.create("t", int32(parts), int16(rf)); st.ErrorCode != 0 {
			rt.Fatalf("create: %s", errName(st.ErrorCode))
		}
		topic, _ := s.img.Topic("t")
		replicas := map[int32]int{}
		for i, p := range topic.Partitions {
			used := map[string]bool{}
			for _, r := range p.Replicas {
				used[racks[r-1]] = true
				replicas[r]++
			}
			if len(used) != min(rf, nracks) {
				rt.Fatalf("partition %d: replicas %v span racks %v", i, p.Replicas, used)
			}
		}
		if lo, hi := spread(replicas, n); hi-lo > 1 {
			rt.Fatalf("replicas per broker %v: spread %d..%d", replicas, lo, hi)
		}
	})
}

// Random cluster histories: registrations, heartbeats, silence, ticks,
// shutdowns, topic creation, ISR changes and elections. After every
// decision (scenario.commit checks CheckImage and CheckTransition): no
// leader outside its ISR, the ISR within the replicas, epochs never
// decrease; and here: every leader is an active broker.
func TestControllerKeepsInvariants(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		const n = 4
		s := activeCluster(rt, n, nil)
		s.create("a", 4, 3)
		s.create("b", 3, 1)
		incarnation := map[int32]byte{}
		for step := 0; step < 60; step++ {
			id := int32(rapid.IntRange(1, n).Draw(rt, "broker"))
			switch rapid.IntRange(0, 7).Draw(rt, "op") {
			case 0: // heartbeat
				if _, ok := s.img.Broker(id); ok {
					s.heartbeatOK(id, false)
				}
			case 1: // time passes and sessions expire
				s.now = s.now.Add(time.Duration(rapid.IntRange(1, 12).Draw(rt, "secs")) * time.Second)
				s.commit(s.c.Tick(s.img, s.now))
			case 2: // a restart: a new incarnation
				incarnation[id]++
				req := kmsg.NewPtrBrokerRegistrationRequest()
				req.BrokerID, req.IncarnationID[0] = id, 100+incarnation[id]
				s.decide(req)
			case 3:
				s.heartbeatOK(id, true)
			case 4: // the leader shrinks or grows an ISR
				s.randomAlterPartition(rt, 0)
			case 5:
				req := kmsg.NewPtrElectLeadersRequest()
				req.ElectionType = int8(rapid.IntRange(0, 1).Draw(rt, "type"))
				s.decide(req)
			case 6:
				s.create(fmt.Sprintf("t%d", step), int32(rapid.IntRange(1, 5).Draw(rt, "p")), int16(rapid.IntRange(1, 3).Draw(rt, "rf")))
			case 7: // fence on request
				if br, ok := s.img.Broker(id); ok {
					req := kmsg.NewPtrBrokerHeartbeatRequest()
					req.BrokerID, req.BrokerEpoch, req.WantFence = id, br.Epoch, true
					s.decide(req)
				}
			}
			for _, t := range s.img.Topics() {
				for i, p := range t.Partitions {
					if p.Leader == metadata.NoLeader {
						continue
					}
					if br, ok := s.img.Broker(p.Leader); !ok || !br.Active() {
						rt.Fatalf("step %d: %s/%d is led by %d, which is not active", step, t.Name, i, p.Leader)
					}
				}
			}
		}
	})
}

// randomAlterPartition sends the leader's change of a random partition's
// ISR, from the current partition epoch or (staleBy) one before it, and
// reports whether the controller wrote a change from a stale epoch.
func (s *scenario) randomAlterPartition(rt *rapid.T, staleBy int32) (staleAccepted bool) {
	topics := s.img.Topics()
	t := topics[rapid.IntRange(0, len(topics)-1).Draw(rt, "topic")]
	idx := rapid.IntRange(0, len(t.Partitions)-1).Draw(rt, "partition")
	p := t.Partitions[idx]
	if p.Leader == metadata.NoLeader {
		return false
	}
	isr := []int32{p.Leader}
	for _, r := range p.Replicas {
		if r != p.Leader && rapid.Bool().Draw(rt, "in-isr") {
			isr = append(isr, r)
		}
	}
	br, _ := s.img.Broker(p.Leader)
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 2
	req.BrokerID, req.BrokerEpoch = p.Leader, br.Epoch
	rtp := kmsg.NewAlterPartitionRequestTopic()
	rtp.TopicID = t.ID
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch, rp.NewISR = int32(idx), p.LeaderEpoch, max(p.PartitionEpoch-staleBy, 0), isr
	rtp.Partitions = append(rtp.Partitions, rp)
	req.Topics = append(req.Topics, rtp)
	res := s.decide(req)
	return rp.PartitionEpoch != p.PartitionEpoch && len(res.Records) > 0
}

// Random cluster histories (as above) whose leaders also send ISR changes
// from stale partition epochs. Without the SkipPartitionEpochCheck defect
// the controller refuses them and CheckLeaderRequests never fires
// (scenario.commit fails the test if it does); with it, CheckLeaderRequests
// fires on exactly the decisions that wrote a change from a stale epoch.
func TestLeaderRequestsCheckedAgainstTheLog(t *testing.T) {
	for _, defect := range []bool{false, true} {
		t.Run(fmt.Sprintf("defect=%t", defect), func(t *testing.T) {
			staleWritten := 0
			rapid.Check(t, func(rt *rapid.T) {
				cfg := DefaultConfig()
				cfg.Defects.SkipPartitionEpochCheck = defect
				const n = 4
				s := activeClusterWith(rt, cfg, n, nil)
				s.create("a", 3, 3)
				for step := 0; step < 40; step++ {
					id := int32(rapid.IntRange(1, n).Draw(rt, "broker"))
					switch rapid.IntRange(0, 3).Draw(rt, "op") {
					case 0:
						s.heartbeatOK(id, false)
					case 1: // fence on request: the controller's own ISR change
						br, _ := s.img.Broker(id)
						req := kmsg.NewPtrBrokerHeartbeatRequest()
						req.BrokerID, req.BrokerEpoch, req.WantFence = id, br.Epoch, true
						s.decide(req)
					default:
						stale := s.randomAlterPartition(rt, int32(rapid.IntRange(0, 2).Draw(rt, "stale-by")))
						if len(s.flagged) > 1 || (len(s.flagged) == 1) != stale {
							rt.Fatalf("step %d: a change from a stale epoch written: %t; flagged: %q", step, stale, s.flagged)
						}
						if stale && !defect {
							rt.Fatalf("step %d: the controller wrote a change from a stale epoch without the defect", step)
						}
						if stale {
							staleWritten++
						}
						s.flagged = nil
					}
				}
			})
			if defect && staleWritten == 0 {
				t.Fatal("no history wrote a change from a stale epoch: the property tested nothing")
			}
			t.Logf("changes from a stale epoch written (and flagged): %d", staleWritten)
		})
	}
}

// A partition named twice in one AlterPartition: the first change is
// judged and written, the second refused, so one decision never answers
// two ISRs under one partition epoch.
func TestAlterPartitionRefusesAPartitionNamedTwice(t *testing.T) {
	s := activeCluster(t, 3, nil)
	s.create("t", 1, 3)
	tp, _ := s.img.Topic("t")
	p := tp.Partitions[0]
	br, _ := s.img.Broker(p.Leader)
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 2
	req.BrokerID, req.BrokerEpoch = p.Leader, br.Epoch
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.TopicID = tp.ID
	for _, isr := range [][]int32{{p.Leader, p.ISR[1]}, {p.Leader}} {
		rp := kmsg.NewAlterPartitionRequestTopicPartition()
		rp.LeaderEpoch, rp.PartitionEpoch, rp.NewISR = p.LeaderEpoch, p.PartitionEpoch+int32(len(rt.Partitions)), isr
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	res := s.decide(req)
	got := res.Response.(*kmsg.AlterPartitionResponse).Topics[0].Partitions
	if got[0].ErrorCode != 0 || got[1].ErrorCode != kerr.InvalidRequest.Code || len(res.Records) != 1 {
		t.Fatalf("answers %s, %s; records %v", errName(got[0].ErrorCode), errName(got[1].ErrorCode), res.Records)
	}
	if after, _ := s.img.Partition(tp.ID, 0); len(after.ISR) != 2 {
		t.Fatalf("ISR %v, want the first change's", after.ISR)
	}
}
