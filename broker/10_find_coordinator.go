package broker

// FindCoordinator v0-6. v1 adds the coordinator type and an error message,
// v3 is flexible, v4 batches keys, v6 adds share groups (type 2).
//
// The coordinator of a group is the leader of the group's
// __consumer_offsets partition (group.PartitionFor); the first group lookup
// creates that topic, as Kafka does. Transaction keys are answered
// COORDINATOR_NOT_AVAILABLE with a message until transactions exist.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(10, 0, 6, handleFindCoordinator) }

const noTransactionsMsg = "Weir has no transaction coordinator yet: transactions are not supported"

func handleFindCoordinator(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if r.Version < 4 {
		c := b.findCoordinator(r.CoordinatorType, r.CoordinatorKey)
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		return reply{resp: resp}, nil
	}
	for _, key := range r.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, b.findCoordinator(r.CoordinatorType, key))
	}
	return reply{resp: resp}, nil
}

func (b *Broker) findCoordinator(keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID = key, -1
	fail := func(code int16, format string, args ...any) kmsg.FindCoordinatorResponseCoordinator {
		msg := fmt.Sprintf(format, args...)
		c.ErrorCode, c.ErrorMessage = code, &msg
		return c
	}
	switch keyType {
	case 0: // group
	case 1:
		return fail(kerr.CoordinatorNotAvailable.Code, noTransactionsMsg)
	case 2:
		return fail(kerr.InvalidRequest.Code, "share groups are not supported")
	default:
		return fail(kerr.InvalidRequest.Code, "unknown coordinator type %d", keyType)
	}
	if code := b.groups.ensure(); code != 0 {
		return fail(code, "the group coordinator's topic %s could not be created; see the broker's log", offsetsTopic)
	}
	cs, code := b.groups.route(key)
	if code != 0 {
		return fail(code, "no group coordinator")
	}
	cs.mu.Lock()
	failed := cs.state == shardFailed
	cs.mu.Unlock()
	if failed {
		return fail(kerr.CoordinatorNotAvailable.Code, "partition %d of %s failed; its groups are unavailable until the broker restarts", cs.index, offsetsTopic)
	}
	c.NodeID, c.Host, c.Port = b.leaderOf(cs)
	return c
}

// leaderOf is the broker leading a __consumer_offsets partition, which
// coordinates its groups: this one, the only broker there is.
func (b *Broker) leaderOf(*coordShard) (nodeID int32, host string, port int32) {
	host, port = b.hostPort()
	return b.cfg.NodeID, host, port
}
