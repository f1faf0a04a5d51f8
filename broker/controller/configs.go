package controller

import (
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// Topic config changes. Broker configs are static in Weir
// (server.properties), so only topic resources are accepted.

func (c *Controller) incrementalAlterConfigs(img *metadata.Image, r *kmsg.IncrementalAlterConfigsRequest) Result {
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	b := newBatch(img)
	seen := map[string]int{}
	for _, rr := range r.Resources {
		seen[rr.ResourceName]++
	}
	for _, rr := range r.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		recs, terr := c.topicConfigChange(img, rr.ResourceType, rr.ResourceName, seen, func(next map[string]string) *topicError {
			for _, op := range rr.Configs {
				if terr := applyConfigOp(next, op); terr != nil {
					return terr
				}
			}
			return nil
		})
		if terr == nil && !r.ValidateOnly {
			b.add(recs...)
		}
		terr.set(&sr.ErrorCode, &sr.ErrorMessage)
		resp.Resources = append(resp.Resources, sr)
	}
	return Result{Records: b.records, Response: resp}
}

func applyConfigOp(next map[string]string, op kmsg.IncrementalAlterConfigsRequestResourceConfig) *topicError {
	def, known := metadata.LookupTopicConfig(op.Name)
	if !known {
		return errTopic(kerr.InvalidConfig, "unknown topic config %q", op.Name)
	}
	value := ""
	if op.Value != nil {
		value = *op.Value
	}
	switch op.Op {
	case kmsg.IncrementalAlterConfigOpSet:
		next[op.Name] = value
	case kmsg.IncrementalAlterConfigOpDelete:
		delete(next, op.Name)
	case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		if def.Type != kmsg.ConfigTypeList {
			return errTopic(kerr.InvalidConfig, "config %s is not a list; APPEND and SUBTRACT need one", op.Name)
		}
		cur, ok := next[op.Name]
		if !ok {
			cur = def.Default
		}
		items := splitList(cur)
		for _, v := range splitList(value) {
			i := slices.Index(items, v)
			if op.Op == kmsg.IncrementalAlterConfigOpAppend && i < 0 {
				items = append(items, v)
			} else if op.Op == kmsg.IncrementalAlterConfigOpSubtract && i >= 0 {
				items = slices.Delete(items, i, i+1)
			}
		}
		next[op.Name] = strings.Join(items, ",")
	default:
		return errTopic(kerr.InvalidRequest, "config operation %d", op.Op)
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

// alterConfigs is the legacy API: it replaces a topic's whole set of
// overrides.
func (c *Controller) alterConfigs(img *metadata.Image, r *kmsg.AlterConfigsRequest) Result {
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	b := newBatch(img)
	seen := map[string]int{}
	for _, rr := range r.Resources {
		seen[rr.ResourceName]++
	}
	for _, rr := range r.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		recs, terr := c.topicConfigChange(img, rr.ResourceType, rr.ResourceName, seen, func(next map[string]string) *topicError {
			clear(next)
			for _, cfg := range rr.Configs {
				if cfg.Value != nil {
					next[cfg.Name] = *cfg.Value
				}
			}
			return nil
		})
		if terr == nil && !r.ValidateOnly {
			b.add(recs...)
		}
		terr.set(&sr.ErrorCode, &sr.ErrorMessage)
		resp.Resources = append(resp.Resources, sr)
	}
	return Result{Records: b.records, Response: resp}
}

// topicConfigChange edits a copy of a topic's overrides, validates the
// result and returns the ConfigRecords that turn the old set into it.
func (c *Controller) topicConfigChange(img *metadata.Image, rt kmsg.ConfigResourceType, name string, seen map[string]int,
	edit func(map[string]string) *topicError) ([]metadata.Record, *topicError) {
	switch {
	case rt == kmsg.ConfigResourceTypeBroker:
		return nil, errTopic(kerr.InvalidRequest, "broker configs are static in Weir; set them in server.properties")
	case rt != kmsg.ConfigResourceTypeTopic:
		return nil, errTopic(kerr.InvalidRequest, "config resource type %d is not supported", rt)
	case seen[name] > 1:
		return nil, errTopic(kerr.InvalidRequest, "resource '%s' appears more than once in the request", name)
	}
	t, ok := img.Topic(name)
	if !ok {
		return nil, errTopic(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", name)
	}
	next := maps.Clone(t.Overrides)
	if terr := edit(next); terr != nil {
		return nil, terr
	}
	var recs []metadata.Record
	for _, k := range slices.Sorted(maps.Keys(next)) {
		if err := metadata.ValidateTopicConfig(k, next[k]); err != nil {
			return nil, errTopic(kerr.InvalidConfig, "invalid config %s: %v", k, err)
		}
		if old, had := t.Overrides[k]; !had || old != next[k] {
			recs = append(recs, &metadata.ConfigRecord{Resource: metadata.ResourceTopic, Name: t.Name, Key: strings.Clone(k), Value: strings.Clone(next[k])})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Overrides)) {
		if _, kept := next[k]; !kept {
			recs = append(recs, &metadata.ConfigRecord{Resource: metadata.ResourceTopic, Name: t.Name, Key: k, Delete: true})
		}
	}
	return recs, nil
}
