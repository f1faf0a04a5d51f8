package broker

// DescribeCluster v0-2 (flexible at every version). v1 adds the endpoint
// type (Weir serves brokers, 1), v2 fenced brokers on request (KIP-1073).
// Brokers and the controller come from the metadata image, as in Metadata.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(60, 0, 2, handleDescribeCluster) }

func handleDescribeCluster(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	if r.Version >= 1 && r.EndpointType != 1 {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		return reply{resp: resp}, nil
	}
	img := b.image()
	resp.ClusterID = img.ClusterID()
	resp.ControllerID = b.controllerID(img)
	live := map[int32]bool{}
	for _, br := range b.liveBrokers(img) {
		live[br.id] = true
		resp.Brokers = append(resp.Brokers, kmsg.DescribeClusterResponseBroker{NodeID: br.id, Host: br.host, Port: br.port, Rack: br.rack})
	}
	if r.IncludeFencedBrokers {
		for _, br := range img.Brokers() {
			if live[br.ID] || len(br.Listeners) == 0 {
				continue
			}
			db := kmsg.DescribeClusterResponseBroker{NodeID: br.ID, Host: br.Listeners[0].Host, Port: int32(br.Listeners[0].Port), IsFenced: true}
			if br.Rack != "" {
				rack := br.Rack
				db.Rack = &rack
			}
			resp.Brokers = append(resp.Brokers, db)
		}
	}
	return reply{resp: resp}, nil
}
