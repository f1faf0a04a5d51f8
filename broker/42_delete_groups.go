package broker

// DeleteGroups v0-2. v2 is flexible. Only empty groups are deleted, with
// their committed offsets (NON_EMPTY_GROUP otherwise), durably before the
// answer.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(42, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DeleteGroupsRequest)
	calls, failed := b.groups.fanOut(r.Groups, func(sm *group.Shard, nowMs int64, w group.Waiter, idx []int) group.Output {
		sub := kmsg.NewPtrDeleteGroupsRequest()
		sub.Version = r.Version
		for _, i := range idx {
			sub.Groups = append(sub.Groups, r.Groups[i])
		}
		return sm.DeleteGroups(nowMs, sub, w)
	})
	return awaitReplies(req, waitersOf(calls), func(resps []kmsg.Response) kmsg.Response {
		resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
		resp.Groups = make([]kmsg.DeleteGroupsResponseGroup, len(r.Groups))
		for i, code := range failed {
			resp.Groups[i] = kmsg.NewDeleteGroupsResponseGroup()
			resp.Groups[i].Group, resp.Groups[i].ErrorCode = r.Groups[i], code
		}
		for k, c := range calls {
			for j, i := range c.idx {
				resp.Groups[i] = resps[k].(*kmsg.DeleteGroupsResponse).Groups[j]
			}
		}
		return resp
	}), nil
}
