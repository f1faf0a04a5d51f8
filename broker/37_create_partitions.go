package broker

// CreatePartitions v0-3. v2 is flexible. Partitions can only be added;
// a manual assignment must name only this broker.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(37, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var terr *topicError
		for _, a := range rt.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
				terr = errTopic(kerr.InvalidReplicaAssignment, "replicas %v; this cluster has one broker, %d", a.Replicas, b.cfg.NodeID)
			}
		}
		if terr == nil {
			terr = b.addPartitions(rt.Topic, rt.Count, r.ValidateOnly)
		}
		if terr != nil {
			st.ErrorCode = terr.err.Code
			msg := terr.msg
			st.ErrorMessage = &msg
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
