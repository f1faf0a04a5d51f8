package broker

// OffsetDelete v0: removes a group's committed offsets for some
// partitions, if the group is empty or no longer subscribes to their
// topics. Partitions of topics that do not exist are answered here
// (UNKNOWN_TOPIC_OR_PARTITION), as Kafka's request layer does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(47, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.OffsetDeleteRequest)
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	known := *r
	known.Topics = nil
	type slot struct{ topic, partition int }
	var slots []slot
	for ti, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		kt := rt
		kt.Partitions = nil
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			if !t.inCluster(rp.Partition) { // the coordinator need not hold a replica
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
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
	w, code := b.groups.callShard(r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.DeleteOffsets(nowMs, &known, w)
	})
	if code != 0 {
		return reply{resp: group.ErrorResponse(r, code)}, nil
	}
	return awaitReplies(req, []*waiter{w}, func(resps []kmsg.Response) kmsg.Response {
		cr := resps[0].(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = cr.ErrorCode
		if cr.ErrorCode != 0 {
			resp.Topics = nil
			return resp
		}
		i := 0
		for _, ct := range cr.Topics {
			for _, cp := range ct.Partitions {
				s := slots[i]
				resp.Topics[s.topic].Partitions[s.partition].ErrorCode = cp.ErrorCode
				i++
			}
		}
		return resp
	}), nil
}
