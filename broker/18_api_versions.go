package broker

// ApiVersions v0-4. v3+ is flexible and carries the client's software name;
// the response header stays v0 at every version. The key list is built from
// the registered handlers, so it is exactly what this broker serves. From
// v3 the answer names the features (txn_config.go): transaction.version,
// supported 0 to 2 and finalized at the broker's level (2 unless
// configured lower; omitted at 0, as Kafka omits a feature at level 0), so
// clients that speak transaction version 2 (KIP-890 part 2) use it; and
// group.version, supported 0 to 1 and finalized at 1, as a Kafka 4.0
// cluster has it: level 1 is the consumer group protocol (KIP-848), whose
// ConsumerGroupHeartbeat this broker serves.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(apiVersionsKey, 0, 4, handleAPIVersions) }

// transactionVersionFeature and groupVersionFeature are Kafka's names of
// the features.
const (
	transactionVersionFeature = "transaction.version"
	groupVersionFeature       = "group.version"
)

func handleAPIVersions(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ApiVersionsRequest)
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = supportedAPIKeys()
	if r.Version >= 3 {
		sf := kmsg.NewApiVersionsResponseSupportedFeature()
		sf.Name, sf.MinVersion, sf.MaxVersion = transactionVersionFeature, 0, 2
		resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
		gf := kmsg.NewApiVersionsResponseSupportedFeature()
		gf.Name, gf.MinVersion, gf.MaxVersion = groupVersionFeature, 0, 1
		resp.SupportedFeatures = append(resp.SupportedFeatures, gf)
		// The epoch of the finalized features: the metadata image's
		// offset, which only grows.
		resp.FinalizedFeaturesEpoch = int64(b.image().Offset().Index)
		if level := b.txnVersion(); level > 0 {
			ff := kmsg.NewApiVersionsResponseFinalizedFeature()
			ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = transactionVersionFeature, level, level
			resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
		}
		gv := kmsg.NewApiVersionsResponseFinalizedFeature()
		gv.Name, gv.MinVersionLevel, gv.MaxVersionLevel = groupVersionFeature, 1, 1
		resp.FinalizedFeatures = append(resp.FinalizedFeatures, gv)
	}
	return reply{resp: resp}, nil
}
