package broker

// DeleteTopics v0-6. v4 is flexible, v5 adds error messages, v6 names
// topics by name or by id. The controller removes the topics from the
// metadata; every broker then deletes its replicas' data (the
// reconciler). This broker answers once they are gone from its image.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(20, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DeleteTopicsRequest)
	ctx, cancel := adminContext(ctx, r.TimeoutMillis)
	defer cancel()
	out, terr := b.submit(ctx, r)
	if terr != nil {
		resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
		fail := func(st *kmsg.DeleteTopicsResponseTopic) {
			st.ErrorCode = terr.err.Code
			msg := terr.msg
			st.ErrorMessage = &msg
			resp.Topics = append(resp.Topics, *st)
		}
		for _, name := range r.TopicNames {
			st := kmsg.NewDeleteTopicsResponseTopic()
			st.Topic = &name
			fail(&st)
		}
		if r.Version >= 6 {
			for _, rt := range r.Topics {
				st := kmsg.NewDeleteTopicsResponseTopic()
				st.Topic, st.TopicID = rt.Topic, rt.TopicID
				fail(&st)
			}
		}
		return reply{resp: resp}, nil
	}
	resp := out.(*kmsg.DeleteTopicsResponse)
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
