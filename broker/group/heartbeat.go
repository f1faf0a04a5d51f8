package group

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat handles a Heartbeat request (v0-4): it keeps the member's
// session alive and tells it, with REBALANCE_IN_PROGRESS, to rejoin.
func (s *Shard) Heartbeat(nowMs int64, req *kmsg.HeartbeatRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	resp.ErrorCode = s.heartbeat(req)
	s.reply(w, resp)
	return s.end()
}

func (s *Shard) heartbeat(req *kmsg.HeartbeatRequest) int16 {
	g := s.groups[req.Group]
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	memberID := s.staticAlias(g, req.MemberID)
	if code := g.validateMember(memberID, req.InstanceID); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	m := g.byID[memberID]
	switch g.state {
	case PreparingRebalance:
		s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
		return kerr.RebalanceInProgress.Code
	case CompletingRebalance, Stable:
		// A member may heartbeat between its join answer and its sync.
		s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
		return 0
	}
	return kerr.UnknownMemberID.Code
}

// Leave handles a LeaveGroup request (v0-5): members leave by member id,
// or (v3+, an admin removing static members) by instance id alone.
func (s *Shard) Leave(nowMs int64, req *kmsg.LeaveGroupRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	members := req.Members
	if req.Version < 3 {
		members = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	s.leave(req.Group, members, resp)
	if req.Version < 3 && resp.ErrorCode == 0 && len(resp.Members) > 0 {
		resp.ErrorCode = resp.Members[0].ErrorCode
	}
	if req.Version < 3 {
		resp.Members = nil
	}
	s.reply(w, resp)
	return s.end()
}

func (s *Shard) leave(groupID string, members []kmsg.LeaveGroupRequestMember, resp *kmsg.LeaveGroupResponse) {
	g := s.groups[groupID]
	if g == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return
	}
	left := 0
	for _, lm := range members {
		r := kmsg.NewLeaveGroupResponseMember()
		r.MemberID = strings.Clone(lm.MemberID)
		r.InstanceID = cloneStringPtr(lm.InstanceID)
		switch {
		case lm.MemberID == "":
			if lm.InstanceID != nil && g.static[*lm.InstanceID] != "" {
				s.removeMember(g, g.static[*lm.InstanceID], kerr.UnknownMemberID.Code)
			} else {
				r.ErrorCode = kerr.UnknownMemberID.Code
			}
		case g.pending[lm.MemberID] != 0:
			delete(g.pending, lm.MemberID)
		default:
			if r.ErrorCode = g.validateMember(lm.MemberID, lm.InstanceID); r.ErrorCode == 0 {
				s.removeMember(g, lm.MemberID, kerr.UnknownMemberID.Code)
			}
		}
		if r.ErrorCode == 0 {
			left++
		}
		resp.Members = append(resp.Members, r)
	}
	if left == 0 {
		return
	}
	switch g.state {
	case Stable, CompletingRebalance:
		s.maybePrepareRebalanceOrCompleteJoin(g)
	case PreparingRebalance:
		s.maybeCompleteJoinPhase(g)
	}
}
