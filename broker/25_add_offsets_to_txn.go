package broker

// AddOffsetsToTxn v0-4: the __consumer_offsets partition of a group joins
// the producer's transaction, so that the offsets it commits there
// (TxnOffsetCommit) are ended by the transaction's markers. v2 answers
// PRODUCER_FENCED where older versions get INVALID_PRODUCER_EPOCH, v3 is
// flexible. Clients of transaction version 2 skip it (TxnOffsetCommit v5
// adds the partition). The first one creates __consumer_offsets if need be.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/txncoord"
)

func init() { register(25, 0, 4, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := r.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if r.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return reply{resp: resp}, nil
	}
	if code := b.groups.ensure(ctx); code != 0 {
		resp.ErrorCode = code
		return reply{resp: resp}, nil
	}
	t, ok := b.image().Topic(offsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return reply{resp: resp}, nil
	}
	index := group.PartitionFor(r.Group, int32(len(t.Partitions)))
	w, code := b.txns.callTxn(r.TransactionalID, func(sm *txncoord.Shard, nowMs int64, w txncoord.Waiter) txncoord.Output {
		return sm.AddOffsets(nowMs, r, offsetsTopic, index, w)
	})
	if code != 0 {
		resp.ErrorCode = code
		return reply{resp: resp}, nil
	}
	return awaitTxnReply(req, w), nil
}
