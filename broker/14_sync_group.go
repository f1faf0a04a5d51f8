package broker

// SyncGroup v0-5. v3 adds the instance id, v4 is flexible, v5 names the
// protocol type and name (checked against the group's). A follower's
// answer waits for the leader's assignment, durably stored.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(14, 0, 5, handleSyncGroup) }

func handleSyncGroup(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.SyncGroupRequest)
	return b.serveGroup(req, r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.Sync(nowMs, r, w)
	}), nil
}
