package broker

// ListGroups v0-5. v3 is flexible, v4 filters by state, v5 by type
// ("classic", or "consumer" for groups of the KIP-848 protocol, whose
// states are Empty, Assigning, Reconciling and Stable). Every shard is
// asked; one still loading makes the answer COORDINATOR_LOAD_IN_PROGRESS
// with the groups known so far, as Kafka does.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(16, 0, 5, handleListGroups) }

func handleListGroups(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ListGroupsRequest)
	var ws []*waiter
	var code int16
	for _, cs := range b.groups.allShards() {
		w := newWaiter()
		if c := cs.do(func(sm *group.Shard, nowMs int64) group.Output { return sm.List(nowMs, r, w) }); c != 0 {
			if code == 0 || c == kerr.CoordinatorLoadInProgress.Code {
				code = c
			}
			continue
		}
		ws = append(ws, w)
	}
	return awaitReplies(req, ws, func(resps []kmsg.Response) kmsg.Response {
		resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
		resp.ErrorCode = code
		for _, sr := range resps {
			lr := sr.(*kmsg.ListGroupsResponse)
			if resp.ErrorCode == 0 {
				resp.ErrorCode = lr.ErrorCode
			}
			resp.Groups = append(resp.Groups, lr.Groups...)
		}
		sort.Slice(resp.Groups, func(i, j int) bool { return resp.Groups[i].Group < resp.Groups[j].Group })
		return resp
	}), nil
}
