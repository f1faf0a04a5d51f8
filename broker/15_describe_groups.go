package broker

// DescribeGroups v0-6. v1 adds throttling, v3 authorized operations (not
// computed: Weir has no ACLs), v4 instance ids, v5 is flexible, v6 answers
// a group that does not exist GROUP_ID_NOT_FOUND (KIP-1043).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(15, 0, 6, handleDescribeGroups) }

func handleDescribeGroups(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeGroupsRequest)
	calls, failed := b.groups.fanOut(r.Groups, func(sm *group.Shard, nowMs int64, w group.Waiter, idx []int) group.Output {
		sub := kmsg.NewPtrDescribeGroupsRequest()
		sub.Version = r.Version
		for _, i := range idx {
			sub.Groups = append(sub.Groups, r.Groups[i])
		}
		return sm.Describe(nowMs, sub, w)
	})
	return awaitReplies(req, waitersOf(calls), func(resps []kmsg.Response) kmsg.Response {
		resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
		resp.Groups = make([]kmsg.DescribeGroupsResponseGroup, len(r.Groups))
		for i, code := range failed {
			resp.Groups[i] = kmsg.NewDescribeGroupsResponseGroup()
			resp.Groups[i].Group, resp.Groups[i].ErrorCode = r.Groups[i], code
		}
		for k, c := range calls {
			for j, i := range c.idx {
				resp.Groups[i] = resps[k].(*kmsg.DescribeGroupsResponse).Groups[j]
			}
		}
		return resp
	}), nil
}
