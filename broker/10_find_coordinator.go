package broker

// FindCoordinator v0-6. v4 batches keys. Group and transaction coordinators
// are not built yet, so every key is answered COORDINATOR_NOT_AVAILABLE with
// a message saying so; clients see a proper error instead of a closed
// connection.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(10, 0, 6, handleFindCoordinator) }

const noCoordinatorMsg = "Weir has no group or transaction coordinator yet"

func handleFindCoordinator(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	msg := noCoordinatorMsg
	if r.Version < 4 {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		resp.ErrorMessage = &msg
		resp.NodeID = -1
		return reply{resp: resp}, nil
	}
	for _, key := range r.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID = key, -1
		c.ErrorCode = kerr.CoordinatorNotAvailable.Code
		c.ErrorMessage = &msg
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return reply{resp: resp}, nil
}
