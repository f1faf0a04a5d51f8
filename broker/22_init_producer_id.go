package broker

// InitProducerId v0-5. v2 is flexible; v3 lets a producer re-initialize
// with its current id and epoch (KIP-360); v4 answers PRODUCER_FENCED where
// older versions get INVALID_PRODUCER_EPOCH. Without a transactional id the
// producer gets a fresh id at epoch 0 (KIP-360's re-initialization of a
// non-transactional producer too). With one, the request goes to the
// transaction coordinator of the id's __transaction_state partition
// (txns.go): NOT_COORDINATOR if this broker does not lead it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/txncoord"
)

func init() { register(22, 0, 5, handleInitProducerID) }

func handleInitProducerID(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		w, code := b.txns.callTxn(*r.TransactionalID, func(sm *txncoord.Shard, nowMs int64, w txncoord.Waiter) txncoord.Output {
			return sm.InitProducerID(nowMs, r, b.newProducerIDs(ctx), w)
		})
		if code != 0 {
			resp.ErrorCode = code
			return reply{resp: resp}, nil
		}
		return awaitTxnReply(req, w), nil
	}
	id, err := b.nextProducerID(ctx)
	if err != nil {
		resp.ErrorCode = kerr.UnknownServerError.Code
		if ke, ok := err.(*kerr.Error); ok {
			resp.ErrorCode = ke.Code
		}
		return reply{resp: resp}, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return reply{resp: resp}, nil
}
