package broker

// LeaveGroup v0-5. v0-2 name one member; v3 batches members, which may be
// named by instance id alone (an admin removing static members); v4 is
// flexible, v5 carries a reason.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(13, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.LeaveGroupRequest)
	return b.serveGroup(req, r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.Leave(nowMs, r, w)
	}), nil
}
