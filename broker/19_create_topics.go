package broker

// CreateTopics v0-7. v1 adds validate_only and error messages, v4 lets
// partitions and replication factor default (-1), v5 is flexible and
// returns the created topic's partitions, replication factor and configs,
// v7 its topic id. Manual assignments must name only this broker.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(19, 0, 7, handleCreateTopics) }

func handleCreateTopics(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range r.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		var terr *topicError
		if seen[rt.Topic] > 1 {
			terr = errTopic(kerr.InvalidRequest, "topic '%s' appears more than once in the request", rt.Topic)
		} else {
			spec := topicSpec{name: rt.Topic, partitions: rt.NumPartitions, replicationFactor: rt.ReplicationFactor, configs: map[string]string{}}
			for _, c := range rt.Configs {
				if c.Value != nil {
					spec.configs[c.Name] = *c.Value
				}
			}
			terr = applyAssignment(b, &spec, rt.ReplicaAssignment)
			if terr == nil {
				var t *topic
				t, terr = b.createTopic(spec, r.ValidateOnly)
				if terr == nil {
					st.TopicID = t.id
					st.NumPartitions = t.meta.Partitions
					st.ReplicationFactor = 1
					for _, name := range topicConfigNames() {
						v, src := b.effectiveTopicConfig(t.meta.Configs, name)
						c := kmsg.NewCreateTopicsResponseTopicConfig()
						c.Name, c.Value, c.Source = name, &v, int8(src)
						st.Configs = append(st.Configs, c)
					}
				}
			}
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

// applyAssignment checks a manual replica assignment: only this broker can
// hold replicas, one per partition.
func applyAssignment(b *Broker, spec *topicSpec, as []kmsg.CreateTopicsRequestTopicReplicaAssignment) *topicError {
	if len(as) == 0 {
		return nil
	}
	if spec.partitions != -1 || spec.replicationFactor != -1 {
		return errTopic(kerr.InvalidRequest, "both partitions/replication factor and a replica assignment were given")
	}
	for i, a := range as {
		if a.Partition != int32(i) {
			return errTopic(kerr.InvalidReplicaAssignment, "assigned partitions must be 0..%d in order", len(as)-1)
		}
		if len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
			return errTopic(kerr.InvalidReplicaAssignment, "partition %d: replicas %v; this cluster has one broker, %d", a.Partition, a.Replicas, b.cfg.NodeID)
		}
	}
	spec.partitions, spec.replicationFactor = int32(len(as)), 1
	return nil
}
