package controller

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// alterPartition is a leader's ISR change (KIP-497). It is fenced by the
// broker epoch, the leader epoch and the partition epoch: a change made
// from a stale view of the partition is refused, so a deposed leader
// cannot shrink or grow the ISR its successor keeps.
func (c *Controller) alterPartition(img *metadata.Image, r *kmsg.AlterPartitionRequest) Result {
	resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
	if br, ok := img.Broker(r.BrokerID); !ok || br.Epoch != r.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return Result{Response: resp}
	}
	b := newBatch(img)
	named := map[partKey]bool{}
	for _, rt := range r.Topics {
		st := kmsg.NewAlterPartitionResponseTopic()
		st.Topic, st.TopidID = rt.Topic, rt.TopicID // kmsg spells it TopidID
		t, ok := img.TopicByID(rt.TopicID)
		if r.Version < 2 {
			t, ok = img.Topic(rt.Topic)
		}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionResponseTopicPartition()
			sp.Partition = rp.Partition
			if !ok {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				if r.Version >= 2 {
					sp.ErrorCode = kerr.UnknownTopicID.Code
				}
			} else if p := b.partition(t.ID, rp.Partition); p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if named[partKey{t.ID, rp.Partition}] {
				// A second change of the partition in one request would
				// be judged against the first, not against the log, and
				// the two answers would name one partition epoch.
				sp.ErrorCode = kerr.InvalidRequest.Code
			} else if code := c.checkAlterPartition(b, r, p, &rp); code != 0 {
				sp.ErrorCode = code
			} else {
				p = c.change(b, t.ID, rp.Partition, p.Leader, requestedISR(&rp))
				// The record says what the leader asked from, so the
				// log shows which state each ISR change replaced.
				b.requested(t.ID, rp.Partition, &metadata.LeaderRequest{
					BrokerID: r.BrokerID, BrokerEpoch: r.BrokerEpoch, LeaderEpoch: rp.LeaderEpoch, PartitionEpoch: rp.PartitionEpoch,
				})
				sp.LeaderID, sp.LeaderEpoch, sp.ISR, sp.PartitionEpoch = p.Leader, p.LeaderEpoch, p.ISR, p.PartitionEpoch
			}
			if ok {
				named[partKey{t.ID, rp.Partition}] = true
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Result{Records: b.records, Response: resp}
}

func requestedISR(rp *kmsg.AlterPartitionRequestTopicPartition) []int32 {
	if rp.NewEpochISR == nil {
		return rp.NewISR
	}
	isr := make([]int32, 0, len(rp.NewEpochISR))
	for _, m := range rp.NewEpochISR {
		isr = append(isr, m.BrokerID)
	}
	return isr
}

// checkAlterPartition returns the error code Kafka answers an ISR change
// with, or 0 to accept it.
func (c *Controller) checkAlterPartition(b *batch, r *kmsg.AlterPartitionRequest, p *metadata.Partition, rp *kmsg.AlterPartitionRequestTopicPartition) int16 {
	if p.Leader != r.BrokerID {
		return kerr.InvalidRequest.Code
	}
	if rp.LeaderEpoch != p.LeaderEpoch {
		return kerr.FencedLeaderEpoch.Code
	}
	if rp.PartitionEpoch != p.PartitionEpoch && !c.cfg.Defects.SkipPartitionEpochCheck {
		return kerr.InvalidUpdateVersion.Code
	}
	isr := requestedISR(rp)
	if !slices.Contains(isr, p.Leader) || hasDuplicates(isr) {
		return kerr.InvalidRequest.Code
	}
	for _, m := range rp.NewEpochISR {
		if br, ok := b.broker(m.BrokerID); ok && m.BrokerEpoch != -1 && br.Epoch != m.BrokerEpoch {
			return kerr.IneligibleReplica.Code
		}
	}
	for _, id := range isr {
		if !slices.Contains(p.Replicas, id) {
			return kerr.InvalidRequest.Code
		}
		if !slices.Contains(p.ISR, id) && !b.active(id) {
			return kerr.IneligibleReplica.Code // only active brokers may join
		}
	}
	return 0
}

func hasDuplicates(s []int32) bool {
	for i := range s {
		if slices.Contains(s[i+1:], s[i]) {
			return true
		}
	}
	return false
}

// Election types of ElectLeaders.
const (
	electPreferred int8 = 0
	electUnclean   int8 = 1
)

// electLeaders is an admin election (kafka-leader-election): preferred
// moves leadership to the first replica when it is an active ISR member;
// unclean elects a leader for a partition that has none, from outside the
// ISR if it must.
func (c *Controller) electLeaders(img *metadata.Image, r *kmsg.ElectLeadersRequest) Result {
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	b := newBatch(img)
	topics := r.Topics
	if topics == nil { // null: every partition
		for _, t := range img.Topics() {
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic = t.Name
			for i := range t.Partitions {
				rt.Partitions = append(rt.Partitions, int32(i))
			}
			topics = append(topics, rt)
		}
	}
	for _, rt := range topics {
		st := kmsg.NewElectLeadersResponseTopic()
		st.Topic = rt.Topic
		t, ok := img.Topic(rt.Topic)
		for _, idx := range rt.Partitions {
			sp := kmsg.NewElectLeadersResponseTopicPartition()
			sp.Partition = idx
			var p *metadata.Partition
			if ok {
				p = b.partition(t.ID, idx)
			}
			var code int16
			var msg string
			switch {
			case p == nil:
				code, msg = kerr.UnknownTopicOrPartition.Code, fmt.Sprintf("%s/%d does not exist", rt.Topic, idx)
			case r.ElectionType == electPreferred:
				code, msg = c.electPreferred(b, t.ID, idx, p)
			case r.ElectionType == electUnclean:
				code, msg = c.electUnclean(b, t.ID, idx, p)
			default:
				code, msg = kerr.InvalidRequest.Code, fmt.Sprintf("election type %d", r.ElectionType)
			}
			sp.ErrorCode = code
			if msg != "" {
				sp.ErrorMessage = &msg
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Result{Records: b.records, Response: resp}
}

func (c *Controller) electPreferred(b *batch, id metadata.TopicID, idx int32, p *metadata.Partition) (int16, string) {
	preferred := p.Replicas[0]
	if p.Leader == preferred {
		return kerr.ElectionNotNeeded.Code, ""
	}
	if !slices.Contains(p.ISR, preferred) || !b.active(preferred) {
		return kerr.PreferredLeaderNotAvailable.Code, fmt.Sprintf("preferred replica %d is not an active ISR member", preferred)
	}
	c.change(b, id, idx, preferred, p.ISR)
	return 0, ""
}

func (c *Controller) electUnclean(b *batch, id metadata.TopicID, idx int32, p *metadata.Partition) (int16, string) {
	if p.HasLeader() {
		return kerr.ElectionNotNeeded.Code, ""
	}
	leader, isr := electFrom(b, p, p.ISR, metadata.NoLeader, true)
	if leader == metadata.NoLeader {
		return kerr.EligibleLeadersNotAvailable.Code, "no replica is active"
	}
	c.change(b, id, idx, leader, isr)
	return 0, ""
}
