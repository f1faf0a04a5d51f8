package broker

// ListOffsets v1-10. v2 adds the isolation level (read_committed sees up
// to the last stable offset), v4 leader epochs, v7 the
// max-timestamp query (-3), v8 earliest-local (-4), v9 latest-tiered (-5).
// Weir has no tiered storage, so -4 is the log start and -5 the latest.
// Earliest (-2) is the log start offset, which retention and DeleteRecords
// move; searches by timestamp and max timestamp look only from there.
// v0's multi-offset form is not served. A leader that has not yet heard
// from its ISR in its new leader epoch (its high watermark is below the
// epoch's start) answers OFFSET_NOT_AVAILABLE for the latest offset, and for
// a search that finds nothing below its high watermark, as Kafka does:
// the client retries instead of taking an offset older than one the
// previous leader may have served.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
)

func init() { register(2, 1, 10, handleListOffsets) }

// Special timestamps of ListOffsets.
const (
	listLatest        = partition.ListLatest
	listEarliest      = partition.ListEarliest
	listMaxTimestamp  = partition.ListMaxTimestamp
	listEarliestLocal = partition.ListEarliestLocal
	listLatestTiered  = partition.ListLatestTiered
)

func handleListOffsets(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, 0
			p, perr := t.leaderPartition(rp.Partition, rp.CurrentLeaderEpoch)
			switch {
			case perr != nil:
				sp.ErrorCode = perr.Code
			case p.Err() != nil:
				sp.ErrorCode = kerr.KafkaStorageError.Code
			default:
				sp.Offset, sp.Timestamp = p.ListOffset(rp.Timestamp, r.IsolationLevel == 1)
				sp.LeaderEpoch = p.LeaderEpoch()
				searched := rp.Timestamp != listEarliest && rp.Timestamp != listEarliestLocal
				if searched && (sp.Offset < 0 || rp.Timestamp == listLatest || rp.Timestamp == listLatestTiered) && p.EpochStartPending() {
					sp.ErrorCode = kerr.OffsetNotAvailable.Code
					sp.Offset, sp.Timestamp = -1, -1
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
