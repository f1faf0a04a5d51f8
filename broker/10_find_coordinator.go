package broker

// FindCoordinator v0-6. v1 adds the coordinator type and an error message,
// v3 is flexible, v4 batches keys, v6 adds share groups (type 2).
//
// The coordinator of a group is the leader of the group's
// __consumer_offsets partition (group.PartitionFor), as the metadata image
// says; the first group lookup creates that topic through the controller,
// as Kafka does. Transaction keys are answered
// COORDINATOR_NOT_AVAILABLE with a message until transactions exist.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(10, 0, 6, handleFindCoordinator) }

const noTransactionsMsg = "Weir has no transaction coordinator yet: transactions are not supported"

func handleFindCoordinator(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if r.Version < 4 {
		c := b.findCoordinator(ctx, r.CoordinatorType, r.CoordinatorKey)
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		return reply{resp: resp}, nil
	}
	for _, key := range r.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, b.findCoordinator(ctx, r.CoordinatorType, key))
	}
	return reply{resp: resp}, nil
}

func (b *Broker) findCoordinator(ctx context.Context, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
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
	if code := b.groups.ensure(ctx); code != 0 {
		return fail(code, "the group coordinator's topic %s could not be created; see the broker's log", offsetsTopic)
	}
	img := b.image()
	t, ok := img.Topic(offsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return fail(kerr.CoordinatorNotAvailable.Code, "%s is not in this broker's metadata yet", offsetsTopic)
	}
	index := group.PartitionFor(key, int32(len(t.Partitions)))
	leader := t.Partitions[index].Leader
	if leader < 0 {
		return fail(kerr.CoordinatorNotAvailable.Code, "partition %d of %s has no leader: its groups have no coordinator until it has one", index, offsetsTopic)
	}
	if leader == b.cfg.NodeID {
		if cs, code := b.groups.route(key); code == 0 {
			cs.mu.Lock()
			failed := cs.state == shardFailed
			cs.mu.Unlock()
			if failed {
				return fail(kerr.CoordinatorNotAvailable.Code, "partition %d of %s failed; its groups are unavailable until the broker restarts", index, offsetsTopic)
			}
		}
	}
	for _, br := range b.liveBrokers(img) {
		if br.id == leader {
			c.NodeID, c.Host, c.Port = br.id, br.host, br.port
			return c
		}
	}
	return fail(kerr.CoordinatorNotAvailable.Code, "the leader of partition %d of %s, broker %d, is not reachable", index, offsetsTopic, leader)
}
