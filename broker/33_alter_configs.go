package broker

// AlterConfigs v0-2 (v2 flexible): replaces a topic's whole set of config
// overrides, as Kafka's legacy API does. The controller validates and
// records the change; every broker applies it to its replicas' logs.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(33, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.AlterConfigsRequest)
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()
	out, terr := b.submit(ctx, r)
	if terr == nil {
		return reply{resp: out}, nil
	}
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		sr.ErrorCode = terr.err.Code
		msg := terr.msg
		sr.ErrorMessage = &msg
		resp.Resources = append(resp.Resources, sr)
	}
	return reply{resp: resp}, nil
}
