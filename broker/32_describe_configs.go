package broker

// DescribeConfigs v0-4. v1 adds config sources and synonyms, v3 types and
// documentation, v4 is flexible. Topics and this broker are described.

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(32, 0, 4, handleDescribeConfigs) }

func handleDescribeConfigs(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		fail := func(e *kerr.Error, msg string) {
			sr.ErrorCode = e.Code
			sr.ErrorMessage = &msg
		}
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			// The quorum's newest image: a change this client just made
			// through any broker shows even before the reconciler ran.
			ti, ok := b.quorum.Image().Topic(rr.ResourceName)
			if !ok {
				fail(kerr.UnknownTopicOrPartition, "topic '"+rr.ResourceName+"' does not exist")
				break
			}
			sr.Configs = b.describeTopicConfigs(&topic{info: ti}, rr.ConfigNames, r.IncludeSynonyms, r.IncludeDocumentation)
		case kmsg.ConfigResourceTypeBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(b.cfg.NodeID)) {
				fail(kerr.InvalidRequest, "this is broker "+strconv.Itoa(int(b.cfg.NodeID))+"; ask broker "+rr.ResourceName+" for its own configs")
				break
			}
			sr.Configs = b.describeBrokerConfigs(rr.ConfigNames)
		default:
			fail(kerr.InvalidRequest, "config resource type "+strconv.Itoa(int(rr.ResourceType))+" is not supported")
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return reply{resp: resp}, nil
}
