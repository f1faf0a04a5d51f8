package broker

// ConsumerGroupHeartbeat v0-1 (KIP-848, the consumer group protocol of
// Kafka 4.0; clients opt in with group.protocol=consumer). v1 has the
// client name its member id and adds regular expression subscriptions.
// The coordinator shard decides; it reads the subscribed topics from the
// broker's current metadata image (topic ids and partition counts), and
// the answer waits until the records it wrote are durable.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(68, 0, 1, handleConsumerGroupHeartbeat) }

func handleConsumerGroupHeartbeat(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ConsumerGroupHeartbeatRequest)
	c := group.Client{ID: req.clientID, Host: clientHost(req.conn.remote)}
	topics := imageTopics{b.image()}
	return b.serveGroup(req, r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.ConsumerHeartbeat(nowMs, r, c, topics, w)
	}), nil
}

// imageTopics shows a metadata image's topics to the group coordinator.
// The broker's internal topics are left out: a subscription, even a
// regular expression matching everything, never reads them.
type imageTopics struct{ img *metadata.Image }

func (t imageTopics) Topic(name string) (group.TopicID, int32, bool) {
	if isInternalTopic(name) {
		return group.TopicID{}, 0, false
	}
	tp, ok := t.img.Topic(name)
	if !ok {
		return group.TopicID{}, 0, false
	}
	return group.TopicID(tp.ID), int32(len(tp.Partitions)), true
}

func (t imageTopics) Name(id group.TopicID) (string, bool) {
	tp, ok := t.img.TopicByID(metadata.TopicID(id))
	if !ok || isInternalTopic(tp.Name) {
		return "", false
	}
	return tp.Name, true
}

func (t imageTopics) Names() []string {
	var names []string
	for _, tp := range t.img.Topics() {
		if !isInternalTopic(tp.Name) {
			names = append(names, tp.Name)
		}
	}
	return names
}
