package broker

// Metadata v0-12. v1 adds the controller and internal flags, v4 lets the
// client ask for auto-creation, v10 adds topic ids, v11 drops cluster
// authorized operations. A request with no topic list (null; v0: empty)
// means every topic. Internal topics (__consumer_offsets) are flagged, and
// never auto-created here: the broker creates them when it needs them.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(3, 0, 12, handleMetadata) }

func handleMetadata(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	host, port := b.hostPort()
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: b.cfg.NodeID, Host: host, Port: port}}
	clusterID := b.clusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = b.cfg.NodeID

	all := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	if all {
		for _, t := range b.sortedTopics() {
			resp.Topics = append(resp.Topics, b.topicMetadata(t))
		}
		return reply{resp: resp}, nil
	}
	autoCreate := b.cfg.AutoCreateTopics && (r.Version < 4 || r.AllowAutoTopicCreation)
	for _, rt := range r.Topics {
		var t *topic
		switch {
		case rt.Topic != nil:
			t = b.topicByName(*rt.Topic)
			// Internal topics are the broker's to create, never a client's.
			if t == nil && autoCreate && !isInternalTopic(*rt.Topic) {
				var code int16
				t, code = b.autoCreateTopic(*rt.Topic)
				if code != 0 {
					rtopic := kmsg.NewMetadataResponseTopic()
					rtopic.Topic = rt.Topic
					rtopic.ErrorCode = code
					resp.Topics = append(resp.Topics, rtopic)
					continue
				}
			}
		default:
			t = b.topicByID(rt.TopicID)
		}
		if t == nil {
			rtopic := kmsg.NewMetadataResponseTopic()
			rtopic.Topic = rt.Topic
			rtopic.TopicID = rt.TopicID
			rtopic.ErrorCode = kerr.UnknownTopicOrPartition.Code
			if rt.Topic != nil && validateTopicName(*rt.Topic) != nil {
				rtopic.ErrorCode = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, rtopic)
			continue
		}
		resp.Topics = append(resp.Topics, b.topicMetadata(t))
	}
	return reply{resp: resp}, nil
}

func (b *Broker) topicMetadata(t *topic) kmsg.MetadataResponseTopic {
	rt := kmsg.NewMetadataResponseTopic()
	name := t.meta.Name
	rt.Topic = &name
	rt.TopicID = t.id
	rt.IsInternal = isInternalTopic(name)
	for i := range t.partitions {
		rp := kmsg.NewMetadataResponseTopicPartition()
		rp.Partition = int32(i)
		rp.Leader = b.cfg.NodeID
		rp.LeaderEpoch = 0
		rp.Replicas = []int32{b.cfg.NodeID}
		rp.ISR = []int32{b.cfg.NodeID}
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}
