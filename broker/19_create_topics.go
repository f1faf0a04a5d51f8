package broker

// CreateTopics v0-7. v1 adds validate_only and error messages, v4 lets
// partitions and replication factor default (-1), v5 is flexible and
// returns the created topic's partitions, replication factor and configs,
// v7 its topic id.
//
// The controller decides (names, counts, the replication factor, which
// defaults to default.replication.factor, placement across the brokers,
// configs); this broker answers once the topics show in its own image.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(19, 0, 7, handleCreateTopics) }

func handleCreateTopics(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	ctx, cancel := adminContext(ctx, r.TimeoutMillis)
	defer cancel()

	refused := map[int]*topicError{}
	fwd := *r
	fwd.Topics = nil
	for i, rt := range r.Topics {
		if terr := b.checkCreate(rt); terr != nil {
			refused[i] = terr
			continue
		}
		fwd.Topics = append(fwd.Topics, rt)
	}
	var answers []kmsg.CreateTopicsResponseTopic
	var failAll *topicError
	if len(fwd.Topics) > 0 {
		b.awaitActive(ctx)
		out, terr := b.submit(ctx, &fwd)
		if terr != nil {
			failAll = terr
		} else {
			answers = out.(*kmsg.CreateTopicsResponse).Topics
		}
	}
	var created []kmsg.CreateTopicsResponseTopic
	for i, rt := range r.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		terr, local := refused[i]
		if !local && failAll != nil {
			terr = failAll
		}
		if terr == nil && len(answers) > 0 {
			st, answers = answers[0], answers[1:]
		}
		if terr != nil {
			st.ErrorCode = terr.err.Code
			msg := terr.msg
			st.ErrorMessage = &msg
		}
		if st.ErrorCode == 0 && !r.ValidateOnly {
			created = append(created, st)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(created) == 0 {
		return reply{resp: resp}, nil
	}
	b.waitApplied(ctx, func(img *metadata.Image) bool {
		for _, st := range created {
			if t, ok := img.Topic(st.Topic); !ok || [16]byte(t.ID) != st.TopicID {
				return false
			}
		}
		return true
	})
	img := b.quorum.Image()
	for i := range resp.Topics {
		st := &resp.Topics[i]
		if t, ok := img.Topic(st.Topic); ok && st.ErrorCode == 0 && r.Version >= 5 {
			st.Configs = describeCreatedConfigs(b, t)
		}
	}
	return reply{resp: resp}, nil
}

// checkCreate refuses what a client may not create here: the broker's own
// internal topics.
func (b *Broker) checkCreate(rt kmsg.CreateTopicsRequestTopic) *topicError {
	if isInternalTopic(rt.Topic) {
		return errTopic(kerr.InvalidRequest, "%s is an internal topic: the broker creates it when it is first needed", rt.Topic)
	}
	return nil
}

// describeCreatedConfigs lists a new topic's configs for CreateTopics v5+.
func describeCreatedConfigs(b *Broker, t *metadata.Topic) []kmsg.CreateTopicsResponseTopicConfig {
	var out []kmsg.CreateTopicsResponseTopicConfig
	for _, name := range topicConfigNames() {
		v, src := b.effectiveTopicConfig(t.Overrides, name)
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value, c.Source = name, &v, int8(src)
		out = append(out, c)
	}
	return out
}
