package broker

// DeleteTopics v0-6. v4 is flexible, v5 adds error messages, v6 names
// topics by name or by id. The controller removes the topics from the
// metadata; every broker then deletes its replicas' data (the
// reconciler). This broker answers once they are gone from its image. The
// broker's internal topics (__consumer_offsets) are refused here.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(20, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DeleteTopicsRequest)
	ctx, cancel := adminContext(ctx, r.TimeoutMillis)
	defer cancel()
	targets := deleteTargets(r)
	img := b.image()
	fwd := *r
	fwd.TopicNames, fwd.Topics = nil, nil
	refused := map[int]*topicError{}
	for i, rt := range targets {
		name := ""
		if rt.Topic != nil {
			name = *rt.Topic
		} else if t, ok := img.TopicByID(metadata.TopicID(rt.TopicID)); ok {
			name = t.Name
		}
		if isInternalTopic(name) {
			refused[i] = errTopic(kerr.InvalidTopicException, "%s is an internal topic the broker keeps its state in; it cannot be deleted", name)
			continue
		}
		if r.Version < 6 {
			fwd.TopicNames = append(fwd.TopicNames, *rt.Topic)
		} else {
			fwd.Topics = append(fwd.Topics, rt)
		}
	}
	var answers []kmsg.DeleteTopicsResponseTopic
	var failAll *topicError
	if len(fwd.TopicNames)+len(fwd.Topics) > 0 {
		out, terr := b.submit(ctx, &fwd)
		if terr != nil {
			failAll = terr
		} else {
			answers = out.(*kmsg.DeleteTopicsResponse).Topics
		}
	}
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for i, rt := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
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
		resp.Topics = append(resp.Topics, st)
	}
	b.waitApplied(ctx, func(img *metadata.Image) bool {
		for _, st := range resp.Topics {
			if st.ErrorCode != 0 {
				continue
			}
			if _, still := img.TopicByID(metadata.TopicID(st.TopicID)); still {
				return false
			}
		}
		return true
	})
	return reply{resp: resp}, nil
}

// deleteTargets is the request's topics in one form, for every version.
func deleteTargets(r *kmsg.DeleteTopicsRequest) []kmsg.DeleteTopicsRequestTopic {
	if r.Version >= 6 {
		return r.Topics
	}
	out := make([]kmsg.DeleteTopicsRequestTopic, len(r.TopicNames))
	for i := range r.TopicNames {
		out[i].Topic = &r.TopicNames[i]
	}
	return out
}
