package group

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Describe handles a DescribeGroups request (v0-6) for groups of this
// shard, answered in request order. A group that does not exist is
// described as Dead; v6+ also says GROUP_ID_NOT_FOUND (KIP-1043).
func (s *Shard) Describe(nowMs int64, req *kmsg.DescribeGroupsRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	if code := s.unavailable(); code != 0 {
		for _, id := range req.Groups {
			dg := kmsg.NewDescribeGroupsResponseGroup()
			dg.Group, dg.ErrorCode = strings.Clone(id), code
			resp.Groups = append(resp.Groups, dg)
		}
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, id := range req.Groups {
		resp.Groups = append(resp.Groups, s.describe(id, req.Version))
	}
	s.reply(w, resp)
	return s.end()
}

func (s *Shard) describe(id string, version int16) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = strings.Clone(id)
	g := s.groups[id]
	switch {
	case id == "":
		dg.ErrorCode = kerr.InvalidGroupID.Code
		return dg
	case g == nil || g.cg != nil:
		// A consumer-protocol group is described by
		// ConsumerGroupDescribe; here it is not found, as in Kafka.
		dg.State = Dead.String()
		if version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			msg := "Group " + id + " not found."
			if g != nil {
				msg = "Group " + id + " is not a classic group."
			}
			dg.ErrorMessage = &msg
		}
		return dg
	}
	dg.State = g.state.String()
	dg.ProtocolType = g.protocolType
	stable := g.is(Stable)
	if stable {
		dg.Protocol = g.protocol
	}
	for _, m := range g.members {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID = m.id, m.instanceID
		dm.ClientID, dm.ClientHost = m.clientID, m.clientHost
		// Kafka shows the metadata only once the group is stable.
		if stable {
			dm.ProtocolMetadata = m.metadataFor(g.protocol)
		}
		dm.MemberAssignment = m.assignment
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

// List handles a ListGroups request (v0-5) for this shard's groups, sorted
// by id, filtered by state (v4+) and type (v5+: "classic" or "consumer").
func (s *Shard) List(nowMs int64, req *kmsg.ListGroupsRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, id := range s.sortedGroupIDs() {
		g := s.groups[id]
		typ, state := "classic", g.state.String()
		if g.cg != nil {
			typ, state = "consumer", string(g.cg.state())
		}
		if !matchesFilter(req.StatesFilter, state) || !matchesFilter(req.TypesFilter, typ) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, g.protocolType, state, typ
		resp.Groups = append(resp.Groups, lg)
	}
	s.reply(w, resp)
	return s.end()
}

func matchesFilter(filter []string, v string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if strings.EqualFold(f, v) {
			return true
		}
	}
	return false
}

// DeleteGroups handles a DeleteGroups request (v0-2) for groups of this
// shard: only empty groups go, with all their offsets.
func (s *Shard) DeleteGroups(nowMs int64, req *kmsg.DeleteGroupsRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	if code := s.unavailable(); code != 0 {
		for _, id := range req.Groups {
			dg := kmsg.NewDeleteGroupsResponseGroup()
			dg.Group, dg.ErrorCode = strings.Clone(id), code
			resp.Groups = append(resp.Groups, dg)
		}
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, id := range req.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = strings.Clone(id)
		g := s.groups[id]
		switch {
		case id == "":
			dg.ErrorCode = kerr.InvalidGroupID.Code
		case g == nil:
			dg.ErrorCode = kerr.GroupIDNotFound.Code
		case !g.isEmpty() || s.hasPendingTxn(id):
			// Offsets committed in an open transaction keep the group.
			dg.ErrorCode = kerr.NonEmptyGroup.Code
		default:
			s.deleteGroup(g)
		}
		resp.Groups = append(resp.Groups, dg)
	}
	s.reply(w, resp)
	return s.end()
}

// deleteGroup removes an empty group and its offsets, durably.
func (s *Shard) deleteGroup(g *group) {
	for _, t := range g.sortedTopics() {
		for _, p := range sortedPartitions(g.offsets[t]) {
			s.emit(offsetTombstone(g.id, t, p))
		}
	}
	if g.cg != nil {
		for _, r := range consumerGroupTombstones(g.id, g.cg) {
			s.emit(r)
		}
	} else {
		s.emit(groupTombstone(g.id))
	}
	g.transition(Dead, s.now)
	delete(s.groups, g.id)
}
