package broker

// ConsumerGroupDescribe v0-1 (KIP-848): the state, epochs, assignor and
// members (with their current and target assignments) of consumer-protocol
// groups; a classic group is GROUP_ID_NOT_FOUND here, as in Kafka. v1 adds
// each member's type. Authorized operations are not computed (no ACLs).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(69, 0, 1, handleConsumerGroupDescribe) }

func handleConsumerGroupDescribe(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ConsumerGroupDescribeRequest)
	topics := imageTopics{b.image()}
	calls, failed := b.groups.fanOut(r.Groups, func(sm *group.Shard, nowMs int64, w group.Waiter, idx []int) group.Output {
		sub := kmsg.NewPtrConsumerGroupDescribeRequest()
		sub.Version = r.Version
		for _, i := range idx {
			sub.Groups = append(sub.Groups, r.Groups[i])
		}
		return sm.ConsumerDescribe(nowMs, sub, topics, w)
	})
	return awaitReplies(req, waitersOf(calls), func(resps []kmsg.Response) kmsg.Response {
		resp := r.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
		resp.Groups = make([]kmsg.ConsumerGroupDescribeResponseGroup, len(r.Groups))
		for i, code := range failed {
			resp.Groups[i] = kmsg.NewConsumerGroupDescribeResponseGroup()
			resp.Groups[i].Group, resp.Groups[i].ErrorCode = r.Groups[i], code
		}
		for k, c := range calls {
			for j, i := range c.idx {
				resp.Groups[i] = resps[k].(*kmsg.ConsumerGroupDescribeResponse).Groups[j]
			}
		}
		return resp
	}), nil
}
