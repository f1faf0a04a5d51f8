package broker

// DeleteTopics v0-6. v4 is flexible, v5 adds error messages, v6 names
// topics by name or by id.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(20, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DeleteTopicsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	targets := r.Topics
	if r.Version < 6 {
		targets = nil
		for _, name := range r.TopicNames {
			name := name
			targets = append(targets, kmsg.DeleteTopicsRequestTopic{Topic: &name})
		}
	}
	for _, rt := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		var t *topic
		if rt.Topic != nil {
			t = b.topicByName(*rt.Topic)
		} else {
			t = b.topicByID(rt.TopicID)
		}
		var terr *topicError
		switch {
		case t == nil && rt.Topic == nil:
			terr = errTopic(kerr.UnknownTopicID, "no topic has this id")
		case t == nil:
			terr = errTopic(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", *rt.Topic)
		default:
			name := t.meta.Name
			st.Topic, st.TopicID = &name, t.id
			terr = b.deleteTopic(t)
		}
		if terr != nil {
			st.ErrorCode = terr.err.Code
			msg := terr.msg
			st.ErrorMessage = &msg
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
