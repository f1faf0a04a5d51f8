package broker

// EndTxn v0-5: commit or abort the producer's transaction. The answer
// waits until the coordinator's decision (PrepareCommit or PrepareAbort) is
// durable; the markers are written after it, as Kafka does. v2 answers
// PRODUCER_FENCED where older versions get INVALID_PRODUCER_EPOCH, v3 is
// flexible, v5 is transaction version 2 (KIP-890 part 2): the epoch is
// bumped at the end and the answer carries the producer id and epoch of
// the producer's next transaction (unless transaction.version is below 2,
// when v5 is served as v4 and the answer's id and epoch are -1).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/txncoord"
)

func init() { register(26, 0, 5, handleEndTxn) }

func handleEndTxn(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.EndTxnRequest)
	w, code := b.txns.callTxn(r.TransactionalID, func(sm *txncoord.Shard, nowMs int64, w txncoord.Waiter) txncoord.Output {
		return sm.EndTxn(nowMs, r, b.newProducerIDs(ctx), w)
	})
	if code != 0 {
		resp := r.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = code
		return reply{resp: resp}, nil
	}
	return awaitTxnReply(req, w), nil
}
