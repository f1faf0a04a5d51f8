package broker

// DescribeCluster v0-1 (flexible at every version). v1 adds the endpoint
// type; Weir serves brokers (1).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(60, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	if r.Version >= 1 && r.EndpointType != 1 {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		return reply{resp: resp}, nil
	}
	resp.ClusterID = b.clusterID
	resp.ControllerID = b.cfg.NodeID
	host, port := b.hostPort()
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{{NodeID: b.cfg.NodeID, Host: host, Port: port}}
	return reply{resp: resp}, nil
}
