package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// mustCreateTopic creates a topic through the controller, as a client's
// CreateTopics would, and waits until this broker leads all its partitions.
func mustCreateTopic(t testing.TB, b *Broker, name string, partitions int32, configs map[string]string) *topic {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, &v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	req.SetVersion(7)
	if err := b.WaitActive(ctx); err != nil {
		t.Fatal(err)
	}
	resp, terr := b.submit(ctx, req)
	if terr != nil {
		t.Fatalf("create topic %s: %v", name, terr)
	}
	if code := resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create topic %s: error code %d", name, code)
	}
	if !b.waitLeading(ctx, name) {
		t.Fatalf("topic %s: this broker does not lead all its partitions within 10s", name)
	}
	return b.topicByName(name)
}

// waitLeading waits until this broker leads every partition of topic.
func (b *Broker) waitLeading(ctx context.Context, name string) bool {
	return b.waitApplied(ctx, func(img *metadata.Image) bool {
		ti, ok := img.Topic(name)
		if !ok {
			return false
		}
		for _, p := range ti.Partitions {
			if p.Leader != b.cfg.NodeID || !b.leads(img) {
				return false
			}
		}
		return true
	})
}

// mustBeActive waits until the broker is registered and unfenced.
func mustBeActive(t testing.TB, b *Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitActive(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitCoordinating waits until this broker's shard of group serves.
func waitCoordinating(t testing.TB, b *Broker, group string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cs, code := b.groups.route(group); code == 0 {
			cs.mu.Lock()
			serving := cs.state == shardServing
			cs.mu.Unlock()
			if serving {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("this broker does not coordinate group %s within 10s", group)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heartbeatCode sends a Heartbeat of member m, generation 1, of group to
// b's coordinator and returns the error code it answers.
func heartbeatCode(t testing.TB, b *Broker, group string) int16 {
	t.Helper()
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = group, "m", 1
	rep, err := handleHeartbeat(context.Background(), b, &request{kreq: hb, conn: &conn{readDone: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	return rep.resp.(*kmsg.HeartbeatResponse).ErrorCode
}

// stateOf is a shard's serving state, read under its lock.
func (c *shardCore) stateOf() shardState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}
