package broker

// OffsetForLeaderEpoch v0-4. v1 adds the leader epoch to the answer, v2 the
// current leader epoch to the request (fencing: FENCED_LEADER_EPOCH,
// UNKNOWN_LEADER_EPOCH), v3 the replica id, v4 is flexible.
//
// Followers ask it before fetching in a new leader epoch to find where
// their log diverges from the leader's (KIP-101, KIP-279); consumers ask it
// after a leader change to detect a log truncated under their position
// (KIP-320). Both are answered by the leader only, from its leader-epoch
// cache: the end offset of the requested epoch (the start of the next one
// it knows, or its log end for the latest), with the largest epoch at or
// below the one requested.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/replica/epoch"
)

func init() { register(23, 0, 4, handleOffsetForLeaderEpoch) }

func handleOffsetForLeaderEpoch(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = epoch.Undefined, epoch.UndefinedOffset
			currentEpoch := rp.CurrentLeaderEpoch
			if r.Version < 2 {
				currentEpoch = -1 // not sent
			}
			switch p := t.partition(rp.Partition); {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.info.Partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case p == nil:
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
			case p.Err() != nil:
				sp.ErrorCode = kerr.KafkaStorageError.Code
			default:
				sp.ErrorCode, sp.LeaderEpoch, sp.EndOffset = p.AnswerEpochEnd(currentEpoch, rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
