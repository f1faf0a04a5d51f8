package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sync handles a SyncGroup request (v0-5). A member of a group completing
// its rebalance waits (w is answered later) until the leader's assignment
// is in, durably; the leader's own request completes the rebalance.
func (s *Shard) Sync(nowMs int64, req *kmsg.SyncGroupRequest, w Waiter) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, syncError(req.Version, code))
	}
	s.begin(nowMs)
	s.sync(req, w)
	return s.end()
}

func (s *Shard) sync(req *kmsg.SyncGroupRequest, w Waiter) {
	g := s.groups[req.Group]
	if g == nil || g.is(Empty) {
		s.reply(w, syncError(req.Version, kerr.UnknownMemberID.Code))
		return
	}
	if alias := s.staticAlias(g, req.MemberID); alias != req.MemberID {
		aliased := *req // the UnfencedStaticMember defect's
		aliased.MemberID = alias
		req = &aliased
	}
	if code := g.validateSync(req); code != 0 {
		s.reply(w, syncError(req.Version, code))
		return
	}
	m := g.byID[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		s.reply(w, syncError(req.Version, kerr.RebalanceInProgress.Code))
	case CompletingRebalance:
		if m.syncWaiter != nil {
			// A retried SyncGroup: the client waits on the new one.
			s.reply(m.syncWaiter, syncError(m.syncVersion, kerr.RebalanceInProgress.Code))
		}
		m.syncWaiter, m.syncVersion = w, req.Version
		s.removePendingSync(g, m.id)
		if g.isLeader(m.id) {
			s.completeSync(g, req.GroupAssignment)
		}
	case Stable:
		s.removePendingSync(g, m.id)
		s.answerMember(g, m, w, syncResponse(g, m, req.Version))
	}
}

func (g *group) validateSync(req *kmsg.SyncGroupRequest) int16 {
	if code := g.validateMember(req.MemberID, req.InstanceID); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	if inconsistent(req.ProtocolType, g.protocolType) || inconsistent(req.Protocol, g.protocol) {
		return kerr.InconsistentGroupProtocol.Code
	}
	return 0
}

// inconsistent: the request names a protocol (type) other than the group's.
func inconsistent(asked *string, have string) bool {
	return asked != nil && have != "" && *asked != have
}

func (s *Shard) removePendingSync(g *group, id string) {
	delete(g.pendingSync, id)
	if len(g.pendingSync) == 0 {
		g.syncTimerSeq = 0
	}
}

// completeSync takes the leader's assignment (members it left out get an
// empty one), persists it with the group, and answers every member waiting
// in SyncGroup; the group is Stable. The answers wait for the record.
func (s *Shard) completeSync(g *group, assignments []kmsg.SyncGroupRequestGroupAssignment) {
	given := make(map[string][]byte, len(assignments))
	for _, a := range assignments {
		given[a.MemberID] = a.MemberAssignment
	}
	for _, m := range g.members {
		m.assignment = append([]byte{}, given[m.id]...)
		if s.cfg.Defects.OneAssignmentForAll {
			m.assignment = append([]byte{}, given[g.leader]...)
		}
	}
	s.emit(groupMetadataRecord(g, s.now))
	g.transition(Stable, s.now)
	s.propagateAssignment(g, 0)
}

// resetAndPropagateAssignmentError drops the assignments of a group that
// must rebalance again and answers waiting SyncGroups with code.
func (s *Shard) resetAndPropagateAssignmentError(g *group, code int16) {
	for _, m := range g.members {
		m.assignment = nil
	}
	s.propagateAssignment(g, code)
}

func (s *Shard) propagateAssignment(g *group, code int16) {
	for _, m := range g.members {
		if m.syncWaiter == nil {
			continue
		}
		var resp *kmsg.SyncGroupResponse
		if code == 0 {
			resp = syncResponse(g, m, m.syncVersion)
		} else {
			resp = syncError(m.syncVersion, code)
		}
		s.answerMember(g, m, m.syncWaiter, resp)
		m.syncWaiter = nil
		// Its session was not running while it waited (nor does it
		// while the answer waits for durability: answerMember).
		s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
	}
}

func syncError(version int16, code int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = version
	resp.ErrorCode = code
	resp.MemberAssignment = []byte{}
	return resp
}

func syncResponse(g *group, m *member, version int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = version
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.MemberAssignment = append([]byte{}, m.assignment...)
	return resp
}
