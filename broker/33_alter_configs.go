package broker

// AlterConfigs v0-2 (v2 flexible): replaces a topic's whole set of config
// overrides, as Kafka's legacy API does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(33, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.AlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var terr *topicError
		if rr.ResourceType != kmsg.ConfigResourceTypeTopic {
			terr = errNotTopicResource(rr.ResourceType)
		} else {
			terr = b.setTopicConfigs(rr.ResourceName, r.ValidateOnly, func(overrides map[string]string) *topicError {
				for k := range overrides {
					delete(overrides, k)
				}
				for _, c := range rr.Configs {
					if c.Value != nil {
						overrides[c.Name] = *c.Value
					}
				}
				return nil
			})
		}
		if terr != nil {
			sr.ErrorCode = terr.err.Code
			msg := terr.msg
			sr.ErrorMessage = &msg
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return reply{resp: resp}, nil
}
