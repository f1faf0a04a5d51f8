package broker

// Heartbeat v0-4. v1 adds throttling, v3 the instance id of static members,
// v4 is flexible. REBALANCE_IN_PROGRESS tells a member to rejoin.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(12, 0, 4, handleHeartbeat) }

func handleHeartbeat(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.HeartbeatRequest)
	return b.serveGroup(req, r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.Heartbeat(nowMs, r, w)
	}), nil
}
