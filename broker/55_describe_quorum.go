package broker

// DescribeQuorum v0-2 (flexible at every version): the metadata quorum's
// leader, term, committed offset and members, for `weir cluster describe`
// and kafka-metadata-quorum. v1 adds each member's last fetch times (Weir
// reports -1: unknown), v2 the nodes' listeners. The topic must be
// __cluster_metadata, partition 0. Any broker answers from its own quorum
// member; only the leader knows how far each member's log reaches, so
// elsewhere the log end offsets are -1.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(55, 0, 2, handleDescribeQuorum) }

// clusterMetadataTopic is the name Kafka gives the metadata log.
const clusterMetadataTopic = "__cluster_metadata"

func handleDescribeQuorum(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeQuorumRequest)
	resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	progress, err := b.quorum.Progress(ctx)
	st := b.quorum.Status()
	for _, rt := range r.Topics {
		t := kmsg.NewDescribeQuorumResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewDescribeQuorumResponseTopicPartition()
			p.Partition = rp.Partition
			switch {
			case rt.Topic != clusterMetadataTopic || rp.Partition != 0:
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case err != nil:
				p.ErrorCode = kerr.RequestTimedOut.Code
			default:
				p.LeaderID, p.LeaderEpoch, p.HighWatermark = st.Leader, int32(st.Term), int64(st.Committed)
				for _, rep := range progress {
					rs := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
					rs.ReplicaID, rs.LogEndOffset = rep.Node, rep.Match
					rs.LastFetchTimestamp, rs.LastCaughtUpTimestamp = -1, -1
					if rep.Voter {
						p.CurrentVoters = append(p.CurrentVoters, rs)
					} else {
						p.Observers = append(p.Observers, rs)
					}
				}
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return reply{resp: resp}, nil
}
