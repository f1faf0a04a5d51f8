package broker

// OffsetCommit v2-10 (v0-1, removed in Kafka 4.0, are not served). v2-4
// carry a retention time, v3 adds throttling, v6 the leader epoch, v7 the
// instance id, v8 is flexible, v9 answers GROUP_ID_NOT_FOUND for a
// generation naming no group, v10 names topics by id.
//
// Partitions of topics that do not exist are answered here, as Kafka's
// request layer does (UNKNOWN_TOPIC_OR_PARTITION, v10 UNKNOWN_TOPIC_ID);
// the rest goes to the coordinator, whose answer waits until the commit is
// durable.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(8, 2, 10, handleOffsetCommit) }

func handleOffsetCommit(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.OffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	known := *r
	known.Topics = nil
	type slot struct{ topic, partition int } // where a known partition's answer goes
	var slots []slot
	for ti, rt := range r.Topics {
		t, name := b.requestTopic(r.Version >= 10, rt.Topic, rt.TopicID)
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		kt := rt
		kt.Topic, kt.Partitions = name, nil
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			switch {
			case t == nil && r.Version >= 10:
				sp.ErrorCode = kerr.UnknownTopicID.Code
			case !t.inCluster(rp.Partition): // the coordinator need not hold a replica
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				kt.Partitions = append(kt.Partitions, rp)
				slots = append(slots, slot{ti, pi})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		if len(kt.Partitions) > 0 {
			known.Topics = append(known.Topics, kt)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(slots) == 0 {
		return reply{resp: resp}, nil
	}
	w, code := b.groups.callShard(r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.Commit(nowMs, &known, w)
	})
	if code != 0 {
		return reply{resp: group.ErrorResponse(r, code)}, nil
	}
	return awaitReplies(req, []*waiter{w}, func(resps []kmsg.Response) kmsg.Response {
		i := 0
		for _, ct := range resps[0].(*kmsg.OffsetCommitResponse).Topics {
			for _, cp := range ct.Partitions {
				s := slots[i]
				resp.Topics[s.topic].Partitions[s.partition].ErrorCode = cp.ErrorCode
				i++
			}
		}
		return resp
	}), nil
}

// requestTopic finds a topic a request names, by id when byID, and the
// name the coordinator knows it by (the request's own name if unknown).
func (b *Broker) requestTopic(byID bool, name string, id [16]byte) (*topic, string) {
	if !byID {
		return b.topicByName(name), name
	}
	t := b.topicByID(id)
	if t == nil {
		return nil, name
	}
	return t, t.name()
}
