package group

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Join handles a JoinGroup request (v0-9). The answer comes back to w in
// this Output when it is final at once (errors, MEMBER_ID_REQUIRED, a
// follower rejoining a stable group unchanged), otherwise when the join
// phase completes.
func (s *Shard) Join(nowMs int64, req *kmsg.JoinGroupRequest, c Client, w Waiter) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, joinError(req.Version, req.MemberID, code))
	}
	s.begin(nowMs)
	s.join(req, c, w)
	return s.end()
}

// joinRequest is a JoinGroup with what the shard keeps copied out of the
// request's buffer.
type joinRequest struct {
	version      int16
	groupID      string
	memberID     string
	instanceID   *string
	clientID     string
	clientHost   string
	sessionMs    int32
	rebalanceMs  int32
	protocolType string
	protocols    []protocol
}

func copyJoin(req *kmsg.JoinGroupRequest, c Client) joinRequest {
	j := joinRequest{
		version:      req.Version,
		groupID:      strings.Clone(req.Group),
		memberID:     strings.Clone(req.MemberID),
		instanceID:   cloneStringPtr(req.InstanceID),
		clientID:     strings.Clone(c.ID),
		clientHost:   strings.Clone(c.Host),
		sessionMs:    req.SessionTimeoutMillis,
		rebalanceMs:  req.RebalanceTimeoutMillis,
		protocolType: strings.Clone(req.ProtocolType),
	}
	if req.Version == 0 {
		// v0 has no rebalance timeout: Kafka uses the session timeout.
		j.rebalanceMs = req.SessionTimeoutMillis
	}
	for _, p := range req.Protocols {
		j.protocols = append(j.protocols, protocol{name: strings.Clone(p.Name), metadata: append([]byte{}, p.Metadata...)})
	}
	return j
}

func (s *Shard) join(req *kmsg.JoinGroupRequest, c Client, w Waiter) {
	if req.Group == "" {
		s.reply(w, joinError(req.Version, req.MemberID, kerr.InvalidGroupID.Code))
		return
	}
	if st := req.SessionTimeoutMillis; st < s.cfg.MinSessionTimeoutMs || st > s.cfg.MaxSessionTimeoutMs {
		s.reply(w, joinError(req.Version, req.MemberID, kerr.InvalidSessionTimeout.Code))
		return
	}
	j := copyJoin(req, c)
	g := s.groups[j.groupID]
	w = s.aliasJoin(g, &j, w)
	if g != nil && g.cg != nil {
		if len(g.cg.members) > 0 {
			// This coordinator has no classic members in consumer groups
			// (Kafka 4.0's upgrade path): the protocols do not mix.
			s.reply(w, joinError(j.version, j.memberID, kerr.InconsistentGroupProtocol.Code))
			return
		}
		// An empty consumer group gives way to a classic one, offsets
		// kept, as in Kafka.
		for _, r := range consumerGroupTombstones(g.id, g.cg) {
			s.emit(r)
		}
		g.cg, g.protocolType = nil, ""
	}
	isNewGroup := g == nil
	if g == nil {
		if j.memberID != "" {
			s.reply(w, joinError(j.version, j.memberID, kerr.UnknownMemberID.Code))
			return
		}
		g = newGroup(j.groupID, s.now)
		s.groups[g.id] = g
	}
	records := len(s.records)
	switch {
	case !s.acceptJoiningMember(g, j.memberID):
		s.removeMember(g, j.memberID, kerr.GroupMaxSizeReached.Code)
		s.reply(w, joinError(j.version, "", kerr.GroupMaxSizeReached.Code))
	case j.memberID == "":
		s.joinNewMember(g, j, w)
	default:
		s.joinExistingMember(g, j, w)
	}
	if isNewGroup && len(s.records) == records {
		// Kafka writes a group record when a join creates a group, so the
		// group outlives a restart even before it forms: generation 0, no
		// members.
		s.emit(emptyGroupRecord(g))
	}
}

// acceptJoiningMember applies group.max.size (Kafka's rule).
func (s *Shard) acceptJoiningMember(g *group, memberID string) bool {
	switch g.state {
	case PreparingRebalance:
		m := g.byID[memberID]
		return (m != nil && m.awaitingJoin()) || int32(g.awaitingJoin) < s.cfg.MaxSize
	case CompletingRebalance, Stable:
		return g.byID[memberID] != nil || int32(len(g.members)) < s.cfg.MaxSize
	}
	return true
}

func (s *Shard) joinNewMember(g *group, j joinRequest, w Waiter) {
	if !g.supportsProtocols(j.protocolType, j.protocols) {
		s.reply(w, joinError(j.version, "", kerr.InconsistentGroupProtocol.Code))
		return
	}
	prefix := j.clientID
	if j.instanceID != nil {
		prefix = *j.instanceID
	}
	newID := prefix + "-" + s.newID()
	switch {
	case j.instanceID != nil && g.static[*j.instanceID] != "":
		s.replaceStaticMember(g, j, g.static[*j.instanceID], newID, w)
	case j.instanceID != nil:
		s.addMemberAndRebalance(g, j, newID, w)
	case j.version >= 4:
		// KIP-394: hand out an id and wait for the member to come back with
		// it, so a client that retries a timed-out join does not leave
		// members behind. The id expires after a session timeout.
		g.pending[newID] = s.schedule(timer{kind: timerPending, group: g.id, member: newID}, int64(j.sessionMs))
		s.reply(w, joinError(j.version, newID, kerr.MemberIDRequired.Code))
	default:
		s.addMemberAndRebalance(g, j, newID, w)
	}
}

func (s *Shard) joinExistingMember(g *group, j joinRequest, w Waiter) {
	switch {
	case !g.supportsProtocols(j.protocolType, j.protocols):
		s.reply(w, joinError(j.version, j.memberID, kerr.InconsistentGroupProtocol.Code))
		return
	case g.pending[j.memberID] != 0:
		if j.instanceID != nil {
			// Pending ids are only handed to dynamic members.
			s.reply(w, joinError(j.version, j.memberID, kerr.UnknownMemberID.Code))
			return
		}
		s.addMemberAndRebalance(g, j, j.memberID, w)
		return
	}
	if code := g.validateMember(j.memberID, j.instanceID); code != 0 {
		s.reply(w, joinError(j.version, j.memberID, code))
		return
	}
	m := g.byID[j.memberID]
	switch g.state {
	case PreparingRebalance:
		s.updateMemberAndRebalance(g, m, j, w)
	case CompletingRebalance:
		if m.matches(j.protocols) {
			// The member lost its join answer: send it again.
			s.answerMember(g, m, w, joinResponse(g, m.id, j.version, g.isLeader(m.id), false))
			return
		}
		s.updateMemberAndRebalance(g, m, j, w)
	case Stable:
		if g.isLeader(m.id) || !m.matches(j.protocols) {
			// The leader rejoins to trigger a rebalance (say, topics
			// changed); anyone with new metadata needs one.
			s.updateMemberAndRebalance(g, m, j, w)
			return
		}
		s.answerMember(g, m, w, joinResponse(g, m.id, j.version, false, false))
	default:
		s.reply(w, joinError(j.version, j.memberID, kerr.UnknownMemberID.Code))
	}
}

// validateMember checks a request's member id (and instance id) against
// the group: UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID, or 0.
func (g *group) validateMember(memberID string, instanceID *string) int16 {
	if instanceID != nil {
		current, ok := g.static[*instanceID]
		if !ok {
			return kerr.UnknownMemberID.Code
		}
		if current != memberID {
			return kerr.FencedInstanceID.Code
		}
	}
	if g.byID[memberID] == nil {
		return kerr.UnknownMemberID.Code
	}
	return 0
}

// answerSupersededJoin answers a member's parked JoinGroup that a newer
// one replaces: the client sent another and waits on that one now.
func (s *Shard) answerSupersededJoin(m *member) {
	if m.joinWaiter != nil {
		s.reply(m.joinWaiter, joinError(m.joinVersion, m.id, kerr.RebalanceInProgress.Code))
	}
}

func (s *Shard) addMemberAndRebalance(g *group, j joinRequest, id string, w Waiter) {
	m := &member{
		id: id, instanceID: j.instanceID, clientID: j.clientID, clientHost: j.clientHost,
		rebalanceTimeoutMs: j.rebalanceMs, sessionTimeoutMs: j.sessionMs,
		protocolType: j.protocolType, protocols: j.protocols, isNew: true,
	}
	if g.is(PreparingRebalance) && g.prevState == Empty {
		g.newMemberAdded = true
	}
	g.add(m, w, j.version)
	// A new member cannot heartbeat until its join is answered, and a
	// client that gave up on a long rebalance would leave a ghost: its
	// parked join keeps it only for NewMemberJoinTimeoutMs.
	s.rescheduleSession(g, m, int64(s.cfg.NewMemberJoinTimeoutMs))
	s.maybePrepareRebalanceOrCompleteJoin(g)
}

func (s *Shard) updateMemberAndRebalance(g *group, m *member, j joinRequest, w Waiter) {
	s.answerSupersededJoin(m)
	g.update(m, j.protocols, j.rebalanceMs, j.sessionMs, w, j.version)
	s.maybePrepareRebalanceOrCompleteJoin(g)
}

// replaceStaticMember: a static member came back with no member id (a
// restart). Its old id is fenced; the group keeps its assignment and, when
// stable and nothing changed, does not rebalance (KIP-345).
func (s *Shard) replaceStaticMember(g *group, j joinRequest, oldID, newID string, w Waiter) {
	old := g.byID[oldID]
	if old.joinWaiter != nil {
		s.reply(old.joinWaiter, joinError(old.joinVersion, oldID, kerr.FencedInstanceID.Code))
	}
	if old.syncWaiter != nil {
		s.reply(old.syncWaiter, syncError(old.syncVersion, kerr.FencedInstanceID.Code))
	}
	oldLeader := g.leader
	s.supersede(g, oldID, *j.instanceID)
	m := g.replaceStatic(*j.instanceID, oldID, newID)
	m.clientID, m.clientHost = j.clientID, j.clientHost
	s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
	if g.is(Stable) {
		g.update(m, j.protocols, j.rebalanceMs, j.sessionMs, nil, 0)
		if g.selectProtocol() == g.protocol {
			// Persist the new member id and answer with the current
			// generation. A v9+ leader is told to skip assigning and resend
			// what it had (KIP-814); an older one is named no leader of its
			// own (the previous leader id), so it syncs as a follower and
			// gets its assignment back, as Kafka does.
			s.emit(groupMetadataRecord(g, s.now))
			if j.version >= 9 {
				lead := g.isLeader(m.id)
				s.answerMember(g, m, w, joinResponse(g, m.id, j.version, lead, lead))
				return
			}
			resp := joinResponse(g, m.id, j.version, false, false)
			resp.LeaderID = oldLeader
			s.answerMember(g, m, w, resp)
			return
		}
		g.update(m, m.protocols, m.rebalanceTimeoutMs, m.sessionTimeoutMs, w, j.version)
		s.maybePrepareRebalanceOrCompleteJoin(g)
		return
	}
	g.update(m, j.protocols, j.rebalanceMs, j.sessionMs, w, j.version)
	if g.is(CompletingRebalance) {
		// The leader may have been given the old id to assign to: start
		// over so that the new id gets an assignment.
		s.prepareRebalance(g)
		return
	}
	s.maybeCompleteJoinPhase(g)
}

// maybePrepareRebalanceOrCompleteJoin starts a rebalance if the group can,
// or else completes the join phase if everyone is in.
func (s *Shard) maybePrepareRebalanceOrCompleteJoin(g *group) {
	if g.canRebalance() {
		s.prepareRebalance(g)
	} else {
		s.maybeCompleteJoinPhase(g)
	}
}

func (s *Shard) maybeCompleteJoinPhase(g *group) {
	// The first rebalance of an empty group always waits out the initial
	// delay, to let the other members of a starting group arrive.
	if !g.is(PreparingRebalance) || g.prevState == Empty || !g.hasAllMembersJoined() {
		return
	}
	s.completeJoin(g)
}

func (s *Shard) prepareRebalance(g *group) {
	if g.is(CompletingRebalance) {
		s.resetAndPropagateAssignmentError(g, kerr.RebalanceInProgress.Code)
	}
	clear(g.pendingSync)
	g.syncTimerSeq = 0
	initial := g.is(Empty)
	g.transition(PreparingRebalance, s.now)
	if initial {
		delay := int64(s.cfg.InitialRebalanceDelayMs)
		remaining := max(int64(g.rebalanceTimeoutMs())-delay, 0)
		g.newMemberAdded = false
		g.joinTimerSeq = s.schedule(timer{kind: timerInitialJoin, group: g.id, delay: delay, remaining: remaining}, delay)
		return
	}
	if g.hasAllMembersJoined() {
		s.completeJoin(g)
		return
	}
	g.joinTimerSeq = s.schedule(timer{kind: timerJoin, group: g.id}, int64(g.rebalanceTimeoutMs()))
}

// initialDelayElapsed extends the initial delay while members keep
// arriving, within the rebalance timeout, then completes the join phase.
func (s *Shard) initialDelayElapsed(g *group, delay, remaining int64) {
	if g.newMemberAdded && remaining != 0 {
		g.newMemberAdded = false
		next := min(int64(s.cfg.InitialRebalanceDelayMs), remaining)
		left := max(remaining-delay, 0)
		g.joinTimerSeq = s.schedule(timer{kind: timerInitialJoin, group: g.id, delay: next, remaining: left}, next)
		return
	}
	s.completeJoin(g)
}

func (g *group) rebalanceTimeoutMs() int32 {
	var m int32
	for _, x := range g.members {
		m = max(m, x.rebalanceTimeoutMs)
	}
	return m
}

// completeJoin ends the join phase: dynamic members that did not rejoin
// are dropped, the next generation starts, and every waiting member gets
// its answer (the leader with everyone's metadata).
func (s *Shard) completeJoin(g *group) {
	if !g.is(PreparingRebalance) {
		return
	}
	g.joinTimerSeq = 0
	for _, m := range append([]*member(nil), g.members...) {
		if !m.awaitingJoin() && !m.static() {
			s.removeMember(g, m.id, kerr.UnknownMemberID.Code)
		}
	}
	if !g.maybeElectNewJoinedLeader() && len(g.members) > 0 {
		// Only static members that did not rejoin are left: wait another
		// rebalance timeout for their sessions to expire or them to join.
		g.joinTimerSeq = s.schedule(timer{kind: timerJoin, group: g.id}, int64(g.rebalanceTimeoutMs()))
		return
	}
	g.initNextGeneration(s.now)
	if g.is(Empty) {
		s.emit(groupMetadataRecord(g, s.now))
		return
	}
	for _, m := range g.members {
		if m.awaitingJoin() {
			s.answerMember(g, m, m.joinWaiter, joinResponse(g, m.id, m.joinVersion, g.isLeader(m.id), false))
			g.awaitingJoin--
			m.joinWaiter = nil
		}
		s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
		m.isNew = false
		g.pendingSync[m.id] = true
	}
	g.syncTimerSeq = s.schedule(timer{kind: timerSync, group: g.id, generation: g.generation}, int64(g.rebalanceTimeoutMs()))
}

// expirePendingSync removes the members that did not sync within the
// rebalance timeout after their join answer, and rebalances. While a
// pending member's join answer still waits for durability (it could not
// sync yet), nobody is removed: the timeout runs again.
func (s *Shard) expirePendingSync(g *group, generation int32) {
	if generation != g.generation || !(g.is(CompletingRebalance) || g.is(Stable)) || len(g.pendingSync) == 0 {
		return
	}
	for _, m := range g.members {
		if g.pendingSync[m.id] && s.answerAwaited(m) {
			g.syncTimerSeq = s.schedule(timer{kind: timerSync, group: g.id, generation: g.generation}, int64(g.rebalanceTimeoutMs()))
			return
		}
	}
	for _, m := range append([]*member(nil), g.members...) {
		if g.pendingSync[m.id] {
			s.removeMember(g, m.id, kerr.UnknownMemberID.Code)
		}
	}
	s.prepareRebalance(g)
}

// expireMember is a session (or pending id) timeout.
func (s *Shard) expireMember(g *group, id string) {
	if _, ok := g.pending[id]; ok {
		delete(g.pending, id)
		if g.is(PreparingRebalance) && g.hasAllMembersJoined() {
			s.completeJoin(g)
		}
		return
	}
	m := g.byID[id]
	if m == nil || m.hasSatisfiedHeartbeat() {
		return
	}
	if s.answerAwaited(m) {
		// Its join or sync answer waits for durability: it awaits it,
		// and its session starts when the answer goes out (Durable).
		s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
		return
	}
	s.removeMember(g, id, kerr.UnknownMemberID.Code)
	switch {
	case g.is(Stable) || g.is(CompletingRebalance):
		s.maybePrepareRebalanceOrCompleteJoin(g)
	case g.is(PreparingRebalance) && g.hasAllMembersJoined():
		s.completeJoin(g)
	}
}

// removeMember takes a member out, answering its parked requests with
// code: a removed member never waits forever.
func (s *Shard) removeMember(g *group, id string, code int16) {
	m := g.byID[id]
	if m != nil {
		if m.joinWaiter != nil {
			s.reply(m.joinWaiter, joinError(m.joinVersion, "", code))
		}
		if m.syncWaiter != nil && !s.cfg.Defects.ForgetParkedSync {
			s.reply(m.syncWaiter, syncError(m.syncVersion, code))
			m.syncWaiter = nil
		}
	}
	g.remove(id)
}

// rescheduleSession restarts a member's session timer.
func (s *Shard) rescheduleSession(g *group, m *member, afterMs int64) {
	m.timerSeq = s.schedule(timer{kind: timerSession, group: g.id, member: m.id}, afterMs)
}

func joinError(version int16, memberID string, code int16) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = memberID
	return resp
}

// joinResponse is the answer for the group's current generation; the
// leader (withMembers) gets every member's metadata for the protocol.
func joinResponse(g *group, memberID string, version int16, withMembers, skipAssignment bool) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.Generation = g.generation
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.LeaderID = g.leader
	resp.MemberID = memberID
	resp.SkipAssignment = skipAssignment
	if withMembers {
		for _, m := range g.members {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID = m.id
			rm.InstanceID = m.instanceID
			rm.ProtocolMetadata = m.metadataFor(g.protocol)
			resp.Members = append(resp.Members, rm)
		}
	}
	return resp
}
