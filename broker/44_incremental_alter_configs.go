package broker

// IncrementalAlterConfigs v0-1 (v1 flexible): SET, DELETE, APPEND and
// SUBTRACT on a topic's config overrides; APPEND/SUBTRACT apply to list
// configs (cleanup.policy). The controller validates and records the
// change; every broker applies it to its replicas' logs.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(44, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()
	out, terr := b.submit(ctx, r)
	if terr == nil {
		return reply{resp: out}, nil
	}
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		sr.ErrorCode = terr.err.Code
		msg := terr.msg
		sr.ErrorMessage = &msg
		resp.Resources = append(resp.Resources, sr)
	}
	return reply{resp: resp}, nil
}
