package group

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerHeartbeat handles a ConsumerGroupHeartbeat request (v0-1): a
// member joins (epoch 0), heartbeats (its epoch), or leaves (-1, or -2 for
// a static member that will come back). Each heartbeat updates the member,
// bumps the group epoch if the subscriptions (or the subscribed topics'
// partitions, read from topics) changed, recomputes the target assignment
// if the group epoch moved past it, and moves the member towards its
// target. The answer waits for the records to be durable.
func (s *Shard) ConsumerHeartbeat(nowMs int64, req *kmsg.ConsumerGroupHeartbeatRequest, c Client, topics Topics, w Waiter) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, heartbeatError(req.Version, &hbError{code: code}))
	}
	s.begin(nowMs)
	resp, err := s.consumerHeartbeat(req, c, topics)
	if err != nil {
		resp = heartbeatError(req.Version, err)
	}
	s.reply(w, resp)
	return s.end()
}

// hbError is a heartbeat's failure, with Kafka's message.
type hbError struct {
	code int16
	msg  string
}

func errf(code int16, format string, args ...any) *hbError {
	return &hbError{code: code, msg: fmt.Sprintf(format, args...)}
}

func heartbeatError(version int16, err *hbError) *kmsg.ConsumerGroupHeartbeatResponse {
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = version
	resp.ErrorCode = err.code
	if err.msg != "" {
		msg := err.msg
		resp.ErrorMessage = &msg
	}
	return resp
}

// validateHeartbeat is Kafka's request validation: INVALID_REQUEST for a
// malformed request, UNSUPPORTED_ASSIGNOR for an unknown assignor.
func validateHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) *hbError {
	blank := func(s *string) bool { return s != nil && strings.TrimSpace(*s) == "" }
	switch {
	case strings.TrimSpace(req.Group) == "":
		return errf(kerr.InvalidRequest.Code, "GroupId can't be empty.")
	case blank(req.InstanceID):
		return errf(kerr.InvalidRequest.Code, "InstanceId can't be empty.")
	case blank(req.RackID):
		return errf(kerr.InvalidRequest.Code, "RackId can't be empty.")
	case req.Version >= 1 && strings.TrimSpace(req.MemberID) == "":
		// v1: the client makes its member id (KIP-1082).
		return errf(kerr.InvalidRequest.Code, "MemberId can't be empty.")
	}
	switch e := req.MemberEpoch; {
	case e > 0 || e == leaveEpoch:
		if strings.TrimSpace(req.MemberID) == "" {
			return errf(kerr.InvalidRequest.Code, "MemberId can't be empty.")
		}
	case e == joinEpoch:
		switch {
		case req.RebalanceTimeoutMillis == -1:
			return errf(kerr.InvalidRequest.Code, "RebalanceTimeoutMs must be provided in first request.")
		case req.Topics == nil || len(req.Topics) > 0:
			return errf(kerr.InvalidRequest.Code, "TopicPartitions must be empty when (re-)joining.")
		case len(req.SubscribedTopicNames) == 0 && req.SubscribedTopicRegex == nil:
			return errf(kerr.InvalidRequest.Code, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
		}
	case e == staticLeaveEpoch:
		if strings.TrimSpace(req.MemberID) == "" {
			return errf(kerr.InvalidRequest.Code, "MemberId can't be empty.")
		}
		if req.InstanceID == nil {
			return errf(kerr.InvalidRequest.Code, "InstanceId can't be null.")
		}
	default:
		return errf(kerr.InvalidRequest.Code, "MemberEpoch is invalid.")
	}
	if r := req.SubscribedTopicRegex; r != nil && *r != "" {
		if _, err := regexp.Compile(*r); err != nil {
			return errf(kerr.InvalidRegularExpression.Code, "SubscribedTopicRegex `%s` is not a valid regular expression: %v.", *r, err)
		}
	}
	if a := req.ServerAssignor; a != nil && !knownAssignor(*a) {
		return errf(kerr.UnsupportedAssignor.Code, "ServerAssignor %s is not supported. Supported assignors: %s, %s.", *a, uniformAssignor, rangeAssignor)
	}
	return nil
}

func (s *Shard) consumerHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, c Client, topics Topics) (*kmsg.ConsumerGroupHeartbeatResponse, *hbError) {
	if err := validateHeartbeat(req); err != nil {
		return nil, err
	}
	if req.MemberEpoch == leaveEpoch || req.MemberEpoch == staticLeaveEpoch {
		return s.consumerLeave(req)
	}
	join := req.MemberEpoch == joinEpoch
	g, cg, err := s.consumerGroupFor(req.Group, join)
	if err != nil {
		return nil, err
	}
	memberID := strings.Clone(req.MemberID)
	if memberID == "" {
		memberID = s.newID() // v0: the coordinator names new members
	}
	alias := s.staticAlias(g, memberID)
	aliased := alias != memberID
	memberID = alias
	old, replaced, err := s.findConsumerMember(cg, req, memberID, join)
	if err != nil {
		return nil, err
	}
	if old == nil && replaced == nil && int32(len(cg.members)) >= s.cfg.ConsumerMaxSize {
		return nil, errf(kerr.GroupMaxSizeReached.Code, "The consumer group has reached its maximum capacity of %d members.", s.cfg.ConsumerMaxSize)
	}
	// Every check passed: from here on the call changes state.
	if g.cg == nil {
		s.adoptConsumerGroup(g, cg)
	}
	m, resubscribed := s.upsertConsumerMember(g, old, replaced, memberID, req, c)
	before := m.assigned.clone()
	s.refreshConsumerGroup(g, topics, resubscribed)
	s.reconcile(g, m, req.Topics)
	m.sessionSeq = s.schedule(timer{kind: timerConsumerSession, group: g.id, member: m.id}, int64(s.cfg.ConsumerSessionTimeoutMs))

	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = req.Version
	id := m.id
	if aliased {
		id = strings.Clone(req.MemberID) // the defect keeps the replaced id working
	}
	resp.MemberID, resp.MemberEpoch = &id, m.epoch
	resp.HeartbeatIntervalMillis = s.cfg.ConsumerHeartbeatIntervalMs
	full := join || (req.RebalanceTimeoutMillis != -1 && (req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil)
	if full || !before.equal(m.assigned) {
		resp.Assignment = heartbeatAssignment(m.assigned)
	}
	return resp, nil
}

// consumerGroupFor finds the consumer group a heartbeat is for. A join
// creates it, or takes over an empty classic group (Kafka deletes the
// classic group's record and keeps its offsets); a classic group with
// members refuses the consumer protocol with GROUP_ID_NOT_FOUND, as Kafka
// does when online migration is off. The group returned is not adopted
// yet (cg is new, g.cg nil) until the caller calls adoptConsumerGroup.
func (s *Shard) consumerGroupFor(id string, join bool) (*group, *consumerGroup, *hbError) {
	g := s.groups[id]
	switch {
	case g == nil && !join:
		return nil, nil, errf(kerr.GroupIDNotFound.Code, "Consumer group %s not found.", id)
	case g == nil:
		g = newGroup(strings.Clone(id), s.now)
		g.protocolType = consumerProtocolType
		return g, newConsumerGroup(), nil
	case g.cg != nil:
		return g, g.cg, nil
	case join && g.is(Empty) && len(g.pending) == 0 && !s.hasPendingTxn(id):
		return g, newConsumerGroup(), nil
	}
	return nil, nil, errf(kerr.GroupIDNotFound.Code, "Group %s is not a consumer group.", id)
}

// adoptConsumerGroup makes g a consumer group: a new group, or an empty
// classic one whose record is deleted.
func (s *Shard) adoptConsumerGroup(g *group, cg *consumerGroup) {
	if s.groups[g.id] == g && g.protocolType != "" {
		s.emit(groupTombstone(g.id))
	}
	g.cg, g.protocolType, g.protocol, g.generation, g.leader = cg, consumerProtocolType, "", 0, ""
	g.stateSinceMs = s.now
	s.groups[g.id] = g
}

// findConsumerMember finds the member a heartbeat is from (old, nil for a
// new member) and, for a static member rejoining under a new member id,
// the member it replaces. Errors are Kafka's fencing errors.
func (s *Shard) findConsumerMember(cg *consumerGroup, req *kmsg.ConsumerGroupHeartbeatRequest, memberID string, join bool) (old, replaced *consumerMember, err *hbError) {
	if req.InstanceID == nil {
		old = cg.members[memberID]
		if old == nil && !join {
			return nil, nil, errf(kerr.UnknownMemberID.Code, "Member %s is not a member of group %s.", memberID, req.Group)
		}
		if old != nil {
			err = checkMemberEpoch(old, req)
		}
		return old, nil, err
	}
	instance := *req.InstanceID
	current := cg.members[cg.static[instance]]
	switch {
	case join && current != nil && current.id != memberID:
		if current.epoch != staticLeaveEpoch {
			return nil, nil, errf(kerr.UnreleasedInstanceID.Code, "Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.", memberID, instance, current.id)
		}
		return cg.members[memberID], current, nil
	case join:
		old = cg.members[memberID]
	case current == nil:
		return nil, nil, errf(kerr.UnknownMemberID.Code, "Instance id %s is unknown.", instance)
	case current.id != memberID:
		return nil, nil, errf(kerr.FencedInstanceID.Code, "Static member %s with instance id %s was fenced by member %s.", memberID, instance, current.id)
	default:
		old = current
	}
	if old != nil {
		err = checkMemberEpoch(old, req)
	}
	return old, nil, err
}

// checkMemberEpoch fences a member whose epoch is not the coordinator's.
// The previous epoch is accepted with owned partitions the member still
// has (the answer that moved it on was lost), and epoch 0 is a rejoin
// (KIP-848, KAFKA-19233): the member keeps its id and gets its
// assignment again.
func checkMemberEpoch(m *consumerMember, req *kmsg.ConsumerGroupHeartbeatRequest) *hbError {
	e := req.MemberEpoch
	switch {
	case e == joinEpoch:
		return nil
	case e > m.epoch:
		return errf(kerr.FencedMemberEpoch.Code, "The consumer group member has a greater member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", e, m.epoch)
	case e < m.epoch && (e != m.previousEpoch || !ownsSubset(req.Topics, m.assigned)):
		return errf(kerr.FencedMemberEpoch.Code, "The consumer group member has a smaller member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", e, m.epoch)
	}
	return nil
}

// ownsSubset: every partition the request says the member owns is
// assigned to it (a request without owned partitions is not a subset).
func ownsSubset(owned []kmsg.ConsumerGroupHeartbeatRequestTopic, assigned partitions) bool {
	if owned == nil {
		return false
	}
	for _, t := range owned {
		for _, p := range t.Partitions {
			if !assigned.has(t.TopicID, p) {
				return false
			}
		}
	}
	return true
}

// upsertConsumerMember applies a heartbeat's fields to its member (a new
// one, a copy of the static member it replaces, or the existing one) and
// persists the member if it changed. resubscribed: its subscription
// changed (a new member's always does).
func (s *Shard) upsertConsumerMember(g *group, old, replaced *consumerMember, memberID string, req *kmsg.ConsumerGroupHeartbeatRequest, c Client) (m *consumerMember, resubscribed bool) {
	cg := g.cg
	var base consumerMember
	switch {
	case replaced != nil:
		// The instance is back under a new member id: it takes the old
		// member's place, assignment and target, at epoch 0 (KIP-848).
		base = *replaced
		base.id, base.epoch, base.previousEpoch = memberID, 0, 0
		base.sessionSeq, base.rebalanceSeq = 0, 0
		assigned, revoking, target := replaced.assigned.clone(), replaced.revoking.clone(), cg.target[replaced.id]
		s.supersede(g, replaced.id, *replaced.instanceID)
		s.fenceRecords(g.id, replaced.id)
		cg.removeMember(replaced)
		if old != nil {
			cg.removeMember(old)
		}
		m := &base
		m.assigned, m.revoking = partitions{}, partitions{}
		cg.members[m.id] = m
		cg.track(m, +1)
		cg.static[*m.instanceID] = m.id
		cg.setOwned(m, assigned, revoking)
		cg.target[m.id] = target
		s.emit(memberMetadataRecord(g.id, m))
		s.emit(targetMemberRecord(g.id, m.id, target))
		s.emit(currentAssignmentRecord(g.id, m))
	case old != nil:
		base = *old
	default:
		base = consumerMember{id: memberID, rebalanceMs: -1, assigned: partitions{}, revoking: partitions{}}
	}
	updated := base
	if req.InstanceID != nil {
		updated.instanceID = cloneStringPtr(req.InstanceID)
	}
	if req.RackID != nil {
		updated.rackID = cloneStringPtr(req.RackID)
	}
	if req.RebalanceTimeoutMillis != -1 {
		updated.rebalanceMs = req.RebalanceTimeoutMillis
	}
	if req.ServerAssignor != nil {
		updated.serverAssignor = cloneStringPtr(req.ServerAssignor)
	}
	if req.SubscribedTopicNames != nil {
		updated.topicNames = sortedUnique(req.SubscribedTopicNames)
	}
	if req.SubscribedTopicRegex != nil {
		updated.topicRegex = cloneStringPtr(req.SubscribedTopicRegex)
		if *updated.topicRegex == "" {
			updated.topicRegex = nil
		}
	}
	updated.clientID, updated.clientHost = strings.Clone(c.ID), strings.Clone(c.Host)
	m = cg.members[memberID]
	if m == nil {
		m = &consumerMember{}
		cg.members[memberID] = m
	}
	isNew := old == nil && replaced == nil
	changed := isNew || !updated.sameMetadata(&base)
	resubscribed = isNew || !slices.Equal(base.topicNames, updated.topicNames) || !eqStrPtr(base.topicRegex, updated.topicRegex)
	cg.track(m, -1)
	*m = updated
	cg.track(m, +1)
	if m.instanceID != nil {
		cg.static[*m.instanceID] = m.id
	}
	if changed {
		s.emit(memberMetadataRecord(g.id, m))
	}
	return m, resubscribed
}

func sortedUnique(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.Clone(n)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// refreshConsumerGroup recomputes the subscription metadata from topics
// (at every heartbeat: a topic created, deleted or grown shows at once);
// the group epoch moves on when it changed or when a member's subscription
// did (bump). Then, if the group epoch is past the target's, the target
// assignment is computed again.
func (s *Shard) refreshConsumerGroup(g *group, topics Topics, bump bool) {
	cg := g.cg
	if bump || cg.subscriptionStale(topics) {
		sub := computeSubscription(cg, topics)
		if !equalSubscription(sub, cg.subscription) {
			cg.setSubscription(sub)
			s.emit(partitionMetadataRecord(g.id, sub))
			bump = true
		}
	}
	if bump {
		cg.epoch++
		s.emit(groupEpochRecord(g.id, cg.epoch))
	}
	if cg.epoch > cg.assignmentEpoch {
		s.computeTarget(g)
	}
}

// subscriptionStale reports whether the topics differ from the
// subscription metadata: a subscribed topic was created, deleted,
// recreated or grew. Regular expressions are matched again every time.
func (cg *consumerGroup) subscriptionStale(topics Topics) bool {
	if cg.regexes > 0 {
		return true
	}
	for name := range cg.names {
		id, n, ok := topics.Topic(name)
		if st, had := cg.subscription[name]; ok != had || ok && (st.id != id || st.partitions != n) {
			return true
		}
	}
	return false
}

// computeSubscription is the subscription metadata: every topic a member
// subscribes to (by name or by regex) that exists.
func computeSubscription(cg *consumerGroup, topics Topics) map[string]subscribedTopic {
	sub := map[string]subscribedTopic{}
	var regexes []*regexp.Regexp
	for _, id := range cg.memberIDs() {
		m := cg.members[id]
		for _, name := range m.topicNames {
			if tid, n, ok := topics.Topic(name); ok {
				sub[name] = subscribedTopic{id: tid, partitions: n}
			}
		}
		if m.topicRegex != nil {
			if re, err := regexp.Compile("^(?:" + *m.topicRegex + ")$"); err == nil {
				regexes = append(regexes, re)
			}
		}
	}
	if len(regexes) > 0 {
		for _, name := range topics.Names() {
			for _, re := range regexes {
				if re.MatchString(name) {
					if tid, n, ok := topics.Topic(name); ok {
						sub[name] = subscribedTopic{id: tid, partitions: n}
					}
					break
				}
			}
		}
	}
	return sub
}

func equalSubscription(a, b map[string]subscribedTopic) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// memberTopics resolves a member's subscription against the group's
// subscription metadata.
func (cg *consumerGroup) memberTopics(m *consumerMember) []TopicID {
	var out []TopicID
	seen := map[TopicID]bool{}
	addName := func(name string) {
		if st, ok := cg.subscription[name]; ok && !seen[st.id] {
			seen[st.id] = true
			out = append(out, st.id)
		}
	}
	for _, name := range m.topicNames {
		addName(name)
	}
	if m.topicRegex != nil {
		if re, err := regexp.Compile("^(?:" + *m.topicRegex + ")$"); err == nil {
			for name := range cg.subscription {
				if re.MatchString(name) {
					addName(name)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i][:]) < string(out[j][:]) })
	return out
}

// computeTarget runs the group's assignor and persists, as Kafka does,
// the target of each member whose target changed, then the assignment
// epoch.
func (s *Shard) computeTarget(g *group) {
	cg := g.cg
	spec := assignSpec{topics: map[TopicID]int32{}, previous: cg.target}
	for _, st := range cg.subscription {
		spec.topics[st.id] = st.partitions
	}
	for _, id := range cg.memberIDs() {
		m := cg.members[id]
		spec.members = append(spec.members, assignMember{id: id, instanceID: m.instanceID, topics: cg.memberTopics(m)})
	}
	next := runAssignor(cg.preferredAssignor(s.cfg.defaultAssignor()), spec)
	for _, id := range cg.memberIDs() {
		if !next[id].equal(cg.target[id]) {
			s.emit(targetMemberRecord(g.id, id, next[id]))
		}
	}
	cg.target = next
	cg.assignmentEpoch = cg.epoch
	s.emit(targetEpochRecord(g.id, cg.assignmentEpoch))
}

// reconcile moves a member towards its target (Kafka's
// CurrentAssignmentBuilder): partitions it must give up are revoked first,
// at its current epoch, and it moves to the target epoch only once it no
// longer owns them; partitions still owned by another member are held
// back (unreleased) until they are free. owned is what the member says it
// owns (nil: not said).
func (s *Shard) reconcile(g *group, m *consumerMember, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) {
	cg := g.cg
	if m.epoch == cg.assignmentEpoch && m.state == memberStable {
		return
	}
	before := *m
	before.assigned, before.revoking = m.assigned.clone(), m.revoking.clone()
	switch m.state {
	case memberStable, memberUnreleased:
		s.nextAssignment(cg, m, m.epoch, owned)
	case memberUnrevoked:
		if stillOwns(owned, m.revoking) {
			return
		}
		s.nextAssignment(cg, m, m.epoch+1, owned)
	default:
		// A state this coordinator does not know (read from a newer
		// one's records): reconcile from the target, as from stable.
		s.nextAssignment(cg, m, m.epoch, owned)
	}
	if m.sameAssignment(&before) {
		return
	}
	s.emit(currentAssignmentRecord(g.id, m))
	if m.state == memberUnrevoked {
		m.rebalanceSeq = s.schedule(timer{kind: timerConsumerRebalance, group: g.id, member: m.id, generation: m.epoch}, int64(max(m.rebalanceMs, 0)))
	} else {
		m.rebalanceSeq = 0
	}
}

// stillOwns: the member may still own a partition of revoking (it did not
// say what it owns, or says it owns one).
func stillOwns(owned []kmsg.ConsumerGroupHeartbeatRequestTopic, revoking partitions) bool {
	if owned == nil {
		return true
	}
	for _, t := range owned {
		for _, p := range t.Partitions {
			if revoking.has(t.TopicID, p) {
				return true
			}
		}
	}
	return false
}

// nextAssignment computes the member's next state from its target: keep
// what is in both, revoke the rest (staying at epoch), or else take the
// free partitions of the target and move to the target epoch.
func (s *Shard) nextAssignment(cg *consumerGroup, m *consumerMember, epoch int32, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) {
	target := cg.target[m.id]
	keep, revoke, gain := partitions{}, partitions{}, partitions{}
	unreleased := false
	for t, ps := range m.assigned {
		for _, p := range ps {
			if target.has(t, p) {
				keep.add(t, p)
			} else {
				revoke.add(t, p)
			}
		}
	}
	for t, ps := range target {
		for _, p := range ps {
			if keep.has(t, p) {
				continue
			}
			if owner, ok := cg.owner[topicPartition{t, p}]; ok && owner != m.id && !s.cfg.Defects.AssignUnreleased {
				unreleased = true
				continue
			}
			gain.add(t, p)
		}
	}
	setEpoch := func(e int32) {
		if e != m.epoch {
			m.previousEpoch, m.epoch = m.epoch, e
		}
	}
	if len(revoke) > 0 && stillOwns(owned, revoke) {
		m.state = memberUnrevoked
		setEpoch(epoch)
		cg.setOwned(m, keep, revoke)
		return
	}
	for t, ps := range gain {
		for _, p := range ps {
			keep.add(t, p)
		}
	}
	m.state = memberStable
	if unreleased {
		m.state = memberUnreleased
	}
	setEpoch(cg.assignmentEpoch)
	cg.setOwned(m, keep, partitions{})
}

func heartbeatAssignment(p partitions) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
	a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	for _, t := range p.sortedTopics() {
		at := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		at.TopicID, at.Partitions = t, slices.Clone(p[t])
		a.Topics = append(a.Topics, at)
	}
	return &a
}

// consumerLeave: epoch -1 takes the member out (its partitions go to the
// others); -2 marks a static member as gone for now, keeping its
// partitions for its return within the session timeout.
func (s *Shard) consumerLeave(req *kmsg.ConsumerGroupHeartbeatRequest) (*kmsg.ConsumerGroupHeartbeatResponse, *hbError) {
	g := s.groups[req.Group]
	switch {
	case g == nil:
		return nil, errf(kerr.GroupIDNotFound.Code, "Consumer group %s not found.", req.Group)
	case g.cg == nil:
		return nil, errf(kerr.GroupIDNotFound.Code, "Group %s is not a consumer group.", req.Group)
	}
	cg := g.cg
	var m *consumerMember
	if req.InstanceID == nil {
		if m = cg.members[req.MemberID]; m == nil {
			return nil, errf(kerr.UnknownMemberID.Code, "Member %s is not a member of group %s.", req.MemberID, req.Group)
		}
	} else {
		instance := *req.InstanceID
		if m = cg.members[cg.static[instance]]; m == nil {
			return nil, errf(kerr.UnknownMemberID.Code, "Instance id %s is unknown.", instance)
		}
		if m.id != req.MemberID {
			return nil, errf(kerr.FencedInstanceID.Code, "Static member %s with instance id %s was fenced by member %s.", req.MemberID, instance, m.id)
		}
	}
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = req.Version
	id := m.id
	resp.MemberID, resp.MemberEpoch = &id, req.MemberEpoch
	if req.MemberEpoch == staticLeaveEpoch {
		m.previousEpoch, m.epoch = m.epoch, staticLeaveEpoch
		cg.setOwned(m, m.assigned, partitions{})
		m.rebalanceSeq = 0
		s.emit(currentAssignmentRecord(g.id, m))
		return resp, nil
	}
	s.fenceConsumerMember(g, m)
	return resp, nil
}

// fenceConsumerMember removes a member (it left, its session or its
// rebalance timeout expired, or it was replaced) and bumps the group
// epoch, so that the others take its partitions.
func (s *Shard) fenceConsumerMember(g *group, m *consumerMember) {
	cg := g.cg
	s.fenceRecords(g.id, m.id)
	cg.removeMember(m)
	// The subscription metadata without the member: the topics the others
	// still subscribe to, as last seen.
	sub := map[string]subscribedTopic{}
	for _, rest := range cg.members {
		for _, t := range cg.memberTopics(rest) {
			name := cg.topicName(t)
			sub[name] = cg.subscription[name]
		}
	}
	if !equalSubscription(sub, cg.subscription) {
		cg.setSubscription(sub)
		s.emit(partitionMetadataRecord(g.id, sub))
	}
	cg.epoch++
	s.emit(groupEpochRecord(g.id, cg.epoch))
}

// fenceRecords are the tombstones of a member, in Kafka's order.
func (s *Shard) fenceRecords(group, member string) {
	s.emit(currentAssignmentTombstone(group, member))
	s.emit(targetMemberTombstone(group, member))
	s.emit(memberMetadataTombstone(group, member))
}

// consumerTimeout is a member's session expiring, or its rebalance
// timeout passing while it still had not revoked what it had to (epoch:
// the epoch it was revoking in).
func (s *Shard) consumerTimeout(g *group, memberID string, rebalance bool, epoch int32) {
	m := g.cg.members[memberID]
	if m == nil || (rebalance && m.epoch != epoch) {
		return
	}
	s.fenceConsumerMember(g, m)
}

// validateConsumerCommit is Kafka's ConsumerGroup.validateOffsetCommit: a
// commit without a member (generation -1) only when the group has no
// members; otherwise the member's epoch exactly, STALE_MEMBER_EPOCH if
// not (ILLEGAL_GENERATION for a transactional commit), and OffsetCommit
// v9+ for members of the consumer protocol.
func (cg *consumerGroup) validateCommit(memberID string, generation int32, version int16, transactional bool) int16 {
	if generation < 0 && len(cg.members) == 0 {
		return 0
	}
	m := cg.members[memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case !transactional && version < 9:
		return kerr.UnsupportedVersion.Code
	case generation != m.epoch && transactional:
		return kerr.IllegalGeneration.Code
	case generation != m.epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// validateFetch is Kafka's ConsumerGroup.validateOffsetFetch (OffsetFetch
// v9+ names the member): anyone may fetch without naming a member.
func (cg *consumerGroup) validateFetch(memberID *string, epoch int32) int16 {
	if memberID == nil && epoch < 0 {
		return 0
	}
	id := ""
	if memberID != nil {
		id = *memberID
	}
	m := cg.members[id]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case m.epoch != epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}
