package broker

// JoinGroup v0-9. v1 adds the rebalance timeout (v0 uses the session
// timeout), v4 answers a first join MEMBER_ID_REQUIRED with an id to join
// with (KIP-394), v5 adds static members (group.instance.id), v6 is
// flexible, v7 names the protocol type in the answer, v8 carries a reason,
// v9 tells a restarted static leader to skip assigning (KIP-814).
//
// The answer usually waits for the rest of the group (up to the rebalance
// timeout): a finish step, completed by the coordinator (groups.go).

import (
	"context"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(11, 0, 9, handleJoinGroup) }

func handleJoinGroup(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.JoinGroupRequest)
	c := group.Client{ID: req.clientID, Host: clientHost(req.conn.remote)}
	return b.serveGroup(req, r.Group, func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
		return sm.Join(nowMs, r, c, w)
	}), nil
}

// clientHost is a member's host as Kafka shows it: Java's
// InetAddress.toString of the client's address, "/127.0.0.1".
func clientHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return "/" + host
}
