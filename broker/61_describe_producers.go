package broker

// DescribeProducers v0: the producers a partition's leader knows (its
// producer state): id, epoch, last sequence and timestamp, the coordinator
// epoch of its last marker, and where its open transaction started (-1:
// none). Partitions this broker does not lead answer
// NOT_LEADER_OR_FOLLOWER, as Kafka's do.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(61, 0, 0, handleDescribeProducers) }

func handleDescribeProducers(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeProducersRequest)
	resp := r.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		for _, index := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = index
			p, perr := t.leaderPartition(index, -1)
			switch {
			case perr != nil:
				sp.ErrorCode = perr.Code
				msg := leaderErrorMessage(perr)
				sp.ErrorMessage = &msg
			case p.Err() != nil:
				sp.ErrorCode = kerr.KafkaStorageError.Code
			default:
				for _, pr := range p.ProducerStates() {
					ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
					ap.ProducerID, ap.ProducerEpoch = pr.ID, int32(pr.Epoch)
					ap.LastSequence, ap.LastTimestamp = -1, -1
					if n := len(pr.Batches); n > 0 {
						ap.LastSequence, ap.LastTimestamp = pr.Batches[n-1].LastSequence, pr.Batches[n-1].MaxTimestamp
					}
					ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = pr.CoordinatorEpoch, pr.TxnFirstOffset
					sp.ActiveProducers = append(sp.ActiveProducers, ap)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
