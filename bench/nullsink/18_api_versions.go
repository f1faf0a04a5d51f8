package nullsink

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions v0-v4.
//
// v1 adds ThrottleMillis, v3 is flexible and adds the client software name
// and version (KIP-511); v3+ also carries feature tags, left empty here. The
// response header is always v0, even for flexible versions, so that a client
// can read it before it knows what the broker supports. A request at a
// version outside v0-v4 is answered by apiVersionsUnsupported.

func (c *conn) apiVersions(version int16, corr int32, body []byte) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = version
	if err := req.ReadFrom(body); err != nil {
		return fmt.Errorf("ApiVersions v%d: %w", version, err)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = version
	resp.ApiKeys = appendServed(resp.ApiKeys)
	c.appendResponse(corr, resp)
	return nil
}

// apiVersionsUnsupported answers an ApiVersions request at a version it does
// not serve the way Kafka does: UNSUPPORTED_VERSION and the served versions,
// in a v0 body, so that the client retries at the highest version both know.
func (c *conn) apiVersionsUnsupported(corr int32) {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = appendServed(resp.ApiKeys)
	c.appendResponse(corr, resp)
}

func appendServed(dst []kmsg.ApiVersionsResponseApiKey) []kmsg.ApiVersionsResponseApiKey {
	for _, a := range served {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey = a.key.Int16()
		k.MinVersion = a.min
		k.MaxVersion = a.max
		dst = append(dst, k)
	}
	return dst
}
