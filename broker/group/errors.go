package group

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrorResponse is the answer to req, one of the requests a Shard serves,
// failing with code everywhere an error fits (every partition of a commit,
// every group of a describe): for the shell to answer requests that never
// reach a shard (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). An
// OffsetFetch is answered in the shape asked (v8+ groups, or the top-level
// fields of v0-7). Nil for other requests.
func ErrorResponse(req kmsg.Request, code int16) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		return joinError(r.Version, strings.Clone(r.MemberID), code)
	case *kmsg.SyncGroupRequest:
		return syncError(r.Version, code)
	case *kmsg.HeartbeatRequest:
		resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = code
		return resp
	case *kmsg.LeaveGroupRequest:
		resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = code
		return resp
	case *kmsg.OffsetCommitRequest:
		return commitResponse(r, code)
	case *kmsg.OffsetFetchRequest:
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		if r.Version < 8 {
			resp.ErrorCode = code
			return resp
		}
		for _, rg := range r.Groups {
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group, g.ErrorCode = strings.Clone(rg.Group), code
			resp.Groups = append(resp.Groups, g)
		}
		return resp
	case *kmsg.DescribeGroupsRequest:
		resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
		for _, id := range r.Groups {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = strings.Clone(id), code
			resp.Groups = append(resp.Groups, g)
		}
		return resp
	case *kmsg.ListGroupsRequest:
		resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
		resp.ErrorCode = code
		return resp
	case *kmsg.DeleteGroupsRequest:
		resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
		for _, id := range r.Groups {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = strings.Clone(id), code
			resp.Groups = append(resp.Groups, g)
		}
		return resp
	case *kmsg.OffsetDeleteRequest:
		resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = code
		return resp
	case *kmsg.TxnOffsetCommitRequest:
		return txnCommitResponse(r, code)
	case *kmsg.ConsumerGroupHeartbeatRequest:
		return heartbeatError(r.Version, &hbError{code: code})
	case *kmsg.ConsumerGroupDescribeRequest:
		resp := r.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
		for _, id := range r.Groups {
			g := kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group, g.ErrorCode = strings.Clone(id), code
			resp.Groups = append(resp.Groups, g)
		}
		return resp
	}
	return nil
}

// withError turns a reply the shard decided into the same request's
// failure with code (what Unload answers for replies whose records may
// never become durable).
func withError(resp kmsg.Response, code int16) kmsg.Response {
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		return joinError(r.Version, r.MemberID, code)
	case *kmsg.SyncGroupResponse:
		return syncError(r.Version, code)
	case *kmsg.HeartbeatResponse:
		r.ErrorCode = code
	case *kmsg.LeaveGroupResponse:
		r.ErrorCode, r.Members = code, nil
	case *kmsg.OffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
	case *kmsg.OffsetFetchResponse:
		for i := range r.Groups {
			r.Groups[i].ErrorCode, r.Groups[i].Topics = code, nil
		}
	case *kmsg.DescribeGroupsResponse:
		for i := range r.Groups {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = r.Groups[i].Group, code
			r.Groups[i] = g
		}
	case *kmsg.ListGroupsResponse:
		r.ErrorCode, r.Groups = code, nil
	case *kmsg.DeleteGroupsResponse:
		for i := range r.Groups {
			r.Groups[i].ErrorCode = code
		}
	case *kmsg.OffsetDeleteResponse:
		r.ErrorCode, r.Topics = code, nil
	case *kmsg.TxnOffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		return heartbeatError(r.Version, &hbError{code: code})
	case *kmsg.ConsumerGroupDescribeResponse:
		for i := range r.Groups {
			g := kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group, g.ErrorCode = r.Groups[i].Group, code
			r.Groups[i] = g
		}
	case *kmsg.WriteTxnMarkersResponse:
		for i := range r.Markers {
			for j := range r.Markers[i].Topics {
				for k := range r.Markers[i].Topics[j].Partitions {
					r.Markers[i].Topics[j].Partitions[k].ErrorCode = code
				}
			}
		}
	}
	return resp
}
