package nullsink

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata v0-v13.
//
// v0 asks for all topics with an empty list, v1+ with a null one. v1 adds the
// controller and rack, v2 the cluster ID, v4 AllowAutoTopicCreation (ignored:
// every topic named exists), v7 leader epochs, v8-v10 authorized operations
// (left at "not requested"), v9 is flexible, v10 adds topic IDs, v12 allows
// asking by topic ID (null name), v13 a top-level error code.
//
// Every named topic is created on first mention with Options.Partitions
// partitions, all led by this broker with itself as the only replica.

func (c *conn) metadata(version int16, corr int32, body []byte) error {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	if err := req.ReadFrom(body); err != nil {
		return fmt.Errorf("Metadata v%d: %w", version, err)
	}
	s := c.s
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = version
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID = s.opts.NodeID
	b.Host = c.host
	b.Port = c.port
	resp.Brokers = append(resp.Brokers, b)
	resp.ClusterID = &s.opts.ClusterID
	resp.ControllerID = s.opts.NodeID

	if req.Topics == nil || version == 0 && len(req.Topics) == 0 {
		for _, t := range s.topics() {
			resp.Topics = append(resp.Topics, c.metadataTopic(t))
		}
		c.appendResponse(corr, resp)
		return nil
	}
	for _, rt := range req.Topics {
		var t *topic
		code := int16(0)
		switch {
		case rt.Topic == nil:
			if t = s.topicByID(rt.TopicID); t == nil {
				code = kerr.UnknownTopicID.Code
			}
		case *rt.Topic == "":
			code = kerr.InvalidTopicException.Code
		default:
			if t = s.topicByName(*rt.Topic); t == nil {
				code = kerr.UnknownTopicOrPartition.Code
			}
		}
		if code != 0 {
			mt := kmsg.NewMetadataResponseTopic()
			mt.ErrorCode = code
			mt.Topic = rt.Topic
			mt.TopicID = rt.TopicID
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, c.metadataTopic(t))
	}
	c.appendResponse(corr, resp)
	return nil
}

func (c *conn) metadataTopic(t *topic) kmsg.MetadataResponseTopic {
	node := c.s.opts.NodeID
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = &t.name
	mt.TopicID = t.id
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(t.next))
	for p := range len(t.next) {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(p)
		mp.Leader = node
		mp.LeaderEpoch = 0
		mp.Replicas = []int32{node}
		mp.ISR = []int32{node}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}
