package broker

// CreatePartitions v0-3. v2 is flexible. Partitions can only be added; the
// controller places them, with the topic's replication factor or the
// assignment given. This broker answers once they show in its image.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(37, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.CreatePartitionsRequest)
	ctx, cancel := adminContext(ctx, r.TimeoutMillis)
	defer cancel()
	for _, rt := range r.Topics {
		if isInternalTopic(rt.Topic) {
			return failCreatePartitions(r, errTopic(kerr.InvalidTopicException, "%s is an internal topic; its partition count cannot change", rt.Topic)), nil
		}
	}
	b.awaitActive(ctx)
	out, terr := b.submit(ctx, r)
	if terr != nil {
		return failCreatePartitions(r, terr), nil
	}
	resp := out.(*kmsg.CreatePartitionsResponse)
	if !r.ValidateOnly {
		want := map[string]int32{}
		for i, st := range resp.Topics {
			if st.ErrorCode == 0 && i < len(r.Topics) {
				want[st.Topic] = r.Topics[i].Count
			}
		}
		b.waitApplied(ctx, func(img *metadata.Image) bool {
			for name, n := range want {
				if t, ok := img.Topic(name); !ok || int32(len(t.Partitions)) < n {
					return false
				}
			}
			return true
		})
	}
	return reply{resp: resp}, nil
}

func failCreatePartitions(r *kmsg.CreatePartitionsRequest, terr *topicError) reply {
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		st.ErrorCode = terr.err.Code
		msg := terr.msg
		st.ErrorMessage = &msg
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}
}
