package broker

// IncrementalAlterConfigs v0-1 (v1 flexible): SET, DELETE, APPEND and
// SUBTRACT on a topic's config overrides; APPEND/SUBTRACT apply to list
// configs (cleanup.policy).

import (
	"context"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(44, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var terr *topicError
		if rr.ResourceType != kmsg.ConfigResourceTypeTopic {
			terr = errNotTopicResource(rr.ResourceType)
		} else {
			terr = b.setTopicConfigs(rr.ResourceName, r.ValidateOnly, func(overrides map[string]string) *topicError {
				for _, c := range rr.Configs {
					if err := b.applyConfigOp(overrides, c); err != nil {
						return err
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

func (b *Broker) applyConfigOp(overrides map[string]string, c kmsg.IncrementalAlterConfigsRequestResourceConfig) *topicError {
	def, known := topicConfigs[c.Name]
	if !known {
		return errTopic(kerr.InvalidConfig, "unknown topic config %q", c.Name)
	}
	value := ""
	if c.Value != nil {
		value = *c.Value
	}
	switch c.Op {
	case kmsg.IncrementalAlterConfigOpSet:
		if c.Value == nil {
			return errTopic(kerr.InvalidConfig, "SET of %s needs a value", c.Name)
		}
		overrides[c.Name] = value
	case kmsg.IncrementalAlterConfigOpDelete:
		delete(overrides, c.Name)
	case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		if def.typ != kmsg.ConfigTypeList {
			return errTopic(kerr.InvalidConfig, "%s is not a list config", c.Name)
		}
		cur, _ := b.effectiveTopicConfig(overrides, c.Name)
		items := splitList(cur)
		for _, v := range splitList(value) {
			i := indexOf(items, v)
			if c.Op == kmsg.IncrementalAlterConfigOpAppend && i < 0 {
				items = append(items, v)
			}
			if c.Op == kmsg.IncrementalAlterConfigOpSubtract && i >= 0 {
				items = append(items[:i], items[i+1:]...)
			}
		}
		overrides[c.Name] = strings.Join(items, ",")
	default:
		return errTopic(kerr.InvalidRequest, "unknown config operation %d", c.Op)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func indexOf(items []string, v string) int {
	for i, it := range items {
		if it == v {
			return i
		}
	}
	return -1
}
