package broker

// DeleteRecords v0-2 (kadm.DeleteRecords, kafka-delete-records.sh). v1 is
// v0 with throttling semantics, v2 is flexible. Each partition's log start
// offset moves to the requested offset (-1: the high watermark); the new
// start is durable before the answer, and segments wholly below it are
// deleted at once. Only the leader serves it (NOT_LEADER_OR_FOLLOWER
// elsewhere). The timeout waits for followers in Kafka; Weir's followers
// do not follow the leader's log start yet, so it answers at once.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(21, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			if p, perr := t.leaderPartition(rp.Partition, -1); perr != nil {
				sp.ErrorCode = perr.Code
			} else if low, err := b.deleteRecords(t, p, rp.Offset); err != nil {
				sp.ErrorCode = err.Code
			} else {
				sp.LowWatermark = low
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
