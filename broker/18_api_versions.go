package broker

// ApiVersions v0-4. v3+ is flexible and carries the client's software name;
// the response header stays v0 at every version. The key list is built from
// the registered handlers, so it is exactly what this broker serves.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(apiVersionsKey, 0, 4, handleAPIVersions) }

func handleAPIVersions(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ApiVersionsRequest)
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = supportedAPIKeys()
	return reply{resp: resp}, nil
}
