package broker

// InitProducerId v0-5. v2 is flexible; v3 lets a producer re-initialize
// with its current id and epoch (KIP-360), which for a non-transactional
// producer Weir answers with a fresh id. Transactional ids come with the
// transaction coordinator; until then they are refused.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(22, 0, 5, handleInitProducerID) }

func handleInitProducerID(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return reply{resp: resp}, nil
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
