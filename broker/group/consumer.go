package group

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Consumer groups of the KIP-848 protocol ("consumer" group type): the
// coordinator keeps each member's subscription, computes a target
// assignment with a server-side assignor whenever the group epoch moves
// past the assignment epoch, and reconciles each member towards its
// target through its heartbeats. A partition is given to a member only
// once no other member owns it (its previous owner acknowledged the
// revocation in a heartbeat or left the group), so no partition is ever
// owned by two members at once.
//
// A consumer group lives in the same groups map as classic groups: it is
// a *group whose cg is set, which keeps its committed offsets where the
// classic code keeps them (commits, fetches, deletion and expiration work
// on both). Its classic fields stay those of an empty group.

// TopicID is a topic's id, as KIP-516 gives them.
type TopicID = [16]byte

// Topics is what the coordinator may know of the cluster's topics: the
// shell's current metadata. A server-side assignor needs each subscribed
// topic's id and partition count.
type Topics interface {
	// Topic finds a topic by name.
	Topic(name string) (id TopicID, partitions int32, ok bool)
	// Names lists every topic, for regular expression subscriptions.
	Names() []string
	// Name finds a topic by id.
	Name(id TopicID) (string, bool)
}

// memberState is Kafka's MemberState of a consumer group member, with
// Kafka's values (persisted in ConsumerGroupCurrentMemberAssignment).
type memberState int8

const (
	// memberStable: the member owns its target assignment, or waits for
	// nothing.
	memberStable memberState = 0
	// memberUnrevoked: the member must revoke partitions before it moves
	// to the next epoch.
	memberUnrevoked memberState = 1
	// memberUnreleased: the member is at the target epoch but partitions
	// of its target are still owned by others.
	memberUnreleased memberState = 2
)

func (s memberState) String() string {
	switch s {
	case memberStable:
		return "stable"
	case memberUnrevoked:
		return "unrevoked"
	case memberUnreleased:
		return "unreleased"
	}
	return fmt.Sprintf("state(%d)", int8(s))
}

// Member epochs with a meaning of their own in heartbeats.
const (
	joinEpoch        = 0
	leaveEpoch       = -1
	staticLeaveEpoch = -2
)

// partitions is a set of partitions by topic id; each slice is sorted and
// has no duplicates, and no slice is empty.
type partitions map[TopicID][]int32

func (p partitions) clone() partitions {
	c := make(partitions, len(p))
	for t, ps := range p {
		c[t] = slices.Clone(ps)
	}
	return c
}

func (p partitions) has(t TopicID, partition int32) bool {
	_, ok := slices.BinarySearch(p[t], partition)
	return ok
}

func (p partitions) add(t TopicID, partition int32) {
	ps := p[t]
	i, ok := slices.BinarySearch(ps, partition)
	if !ok {
		p[t] = slices.Insert(ps, i, partition)
	}
}

func (p partitions) equal(o partitions) bool {
	if len(p) != len(o) {
		return false
	}
	for t, ps := range p {
		if !slices.Equal(ps, o[t]) {
			return false
		}
	}
	return true
}

// sortedTopics is the topic ids in byte order, for deterministic output.
func (p partitions) sortedTopics() []TopicID {
	ids := make([]TopicID, 0, len(p))
	for t := range p {
		ids = append(ids, t)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	return ids
}

// topicPartition names one partition of a topic by id.
type topicPartition struct {
	topic     TopicID
	partition int32
}

// subscribedTopic is one topic of a group's subscription metadata: what
// the assignor was given, and what a change of bumps the group epoch.
type subscribedTopic struct {
	id         TopicID
	partitions int32
}

// consumerMember is one member of a consumer group.
type consumerMember struct {
	id             string
	instanceID     *string
	rackID         *string
	clientID       string
	clientHost     string
	topicNames     []string // sorted
	topicRegex     *string
	rebalanceMs    int32
	serverAssignor *string

	epoch, previousEpoch int32
	state                memberState
	assigned, revoking   partitions

	// sessionSeq and rebalanceSeq are the live timer entries.
	sessionSeq, rebalanceSeq uint64
}

// sameMetadata reports whether o has m's persisted member metadata (what
// ConsumerGroupMemberMetadata holds).
func (m *consumerMember) sameMetadata(o *consumerMember) bool {
	return eqStrPtr(m.instanceID, o.instanceID) && eqStrPtr(m.rackID, o.rackID) &&
		m.clientID == o.clientID && m.clientHost == o.clientHost &&
		slices.Equal(m.topicNames, o.topicNames) && eqStrPtr(m.topicRegex, o.topicRegex) &&
		m.rebalanceMs == o.rebalanceMs && eqStrPtr(m.serverAssignor, o.serverAssignor)
}

// sameAssignment reports whether o has m's persisted current assignment.
func (m *consumerMember) sameAssignment(o *consumerMember) bool {
	return m.epoch == o.epoch && m.previousEpoch == o.previousEpoch && m.state == o.state &&
		m.assigned.equal(o.assigned) && m.revoking.equal(o.revoking)
}

func eqStrPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// consumerGroup is the KIP-848 state of a group.
type consumerGroup struct {
	epoch           int32 // the group epoch
	assignmentEpoch int32 // the epoch of target
	members         map[string]*consumerMember
	static          map[string]string // instance id -> member id
	// subscription is the subscription metadata: every topic a member
	// subscribes to that exists, by name.
	subscription map[string]subscribedTopic
	// target is the target assignment of each member.
	target map[string]partitions
	// owner is who owns each partition now: assigned to it, or pending
	// its revocation. A partition in no member's set is free.
	owner map[topicPartition]string
	// names counts the members subscribing to each topic name, regexes
	// those subscribing with a regular expression: what a heartbeat checks
	// the topics against.
	names   map[string]int
	regexes int
	// known names every topic id the subscription ever had, so that
	// partitions of a topic no longer subscribed to (still being revoked)
	// keep their name in descriptions.
	known map[TopicID]string
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{
		members: map[string]*consumerMember{}, static: map[string]string{},
		subscription: map[string]subscribedTopic{}, target: map[string]partitions{},
		owner: map[topicPartition]string{}, names: map[string]int{}, known: map[TopicID]string{},
	}
}

// track counts (delta +1) or uncounts (-1) a member's subscription in
// names and regexes. A member is counted while it is in members.
func (cg *consumerGroup) track(m *consumerMember, delta int) {
	for _, name := range m.topicNames {
		if cg.names[name] += delta; cg.names[name] <= 0 {
			delete(cg.names, name)
		}
	}
	if m.topicRegex != nil {
		cg.regexes += delta
	}
}

// ConsumerGroupState is a consumer group's state, as Kafka names it.
type ConsumerGroupState string

// Consumer group states.
const (
	CGEmpty       ConsumerGroupState = "Empty"
	CGAssigning   ConsumerGroupState = "Assigning"
	CGReconciling ConsumerGroupState = "Reconciling"
	CGStable      ConsumerGroupState = "Stable"
)

// state derives the group's state as Kafka does: Empty without members,
// Assigning while the target lags the group epoch, Reconciling while a
// member has not reached the target.
func (cg *consumerGroup) state() ConsumerGroupState {
	switch {
	case len(cg.members) == 0:
		return CGEmpty
	case cg.epoch > cg.assignmentEpoch:
		return CGAssigning
	}
	for _, m := range cg.members {
		if m.epoch != cg.assignmentEpoch || m.state != memberStable {
			return CGReconciling
		}
	}
	return CGStable
}

// memberIDs is the members' ids, sorted: every loop over members goes in
// this order, so that outputs are deterministic.
func (cg *consumerGroup) memberIDs() []string {
	ids := make([]string, 0, len(cg.members))
	for id := range cg.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// setOwned replaces m's owned partitions (assigned and pending
// revocation) in the owner index.
func (cg *consumerGroup) setOwned(m *consumerMember, assigned, revoking partitions) {
	for _, set := range []partitions{m.assigned, m.revoking} {
		for t, ps := range set {
			for _, p := range ps {
				if cg.owner[topicPartition{t, p}] == m.id {
					delete(cg.owner, topicPartition{t, p})
				}
			}
		}
	}
	m.assigned, m.revoking = assigned, revoking
	for _, set := range []partitions{assigned, revoking} {
		for t, ps := range set {
			for _, p := range ps {
				cg.owner[topicPartition{t, p}] = m.id
			}
		}
	}
}

// removeMember takes a member out of every index.
func (cg *consumerGroup) removeMember(m *consumerMember) {
	cg.track(m, -1)
	cg.setOwned(m, partitions{}, partitions{})
	delete(cg.members, m.id)
	delete(cg.target, m.id)
	if m.instanceID != nil && cg.static[*m.instanceID] == m.id {
		delete(cg.static, *m.instanceID)
	}
	m.sessionSeq, m.rebalanceSeq = 0, 0
}

// subscribedTo reports whether a member subscribes to topic (for offset
// deletion and expiration); a regex counts if the topic is in the
// subscription metadata.
func (cg *consumerGroup) subscribedTo(topic string) bool {
	for _, m := range cg.members {
		if slices.Contains(m.topicNames, topic) {
			return true
		}
		if m.topicRegex != nil {
			if _, ok := cg.subscription[topic]; ok {
				return true
			}
		}
	}
	return false
}

// topicName finds the name of a topic the group subscribed to, by id, or
// "".
func (cg *consumerGroup) topicName(id TopicID) string { return cg.known[id] }

// setSubscription replaces the subscription metadata.
func (cg *consumerGroup) setSubscription(sub map[string]subscribedTopic) {
	cg.subscription = sub
	for name, st := range sub {
		cg.known[st.id] = name
	}
}

// preferredAssignor is the assignor most members ask for (ties: the
// smaller name), or def.
func (cg *consumerGroup) preferredAssignor(def string) string {
	votes := map[string]int{}
	for _, m := range cg.members {
		if m.serverAssignor != nil {
			votes[*m.serverAssignor]++
		}
	}
	best, n := def, 0
	for name, v := range votes {
		if v > n || (v == n && name < best) {
			best, n = name, v
		}
	}
	return best
}

func (cg *consumerGroup) dump(b *strings.Builder, names func(TopicID) string) {
	fmt.Fprintf(b, "  consumer epoch=%d assignment-epoch=%d state=%s", cg.epoch, cg.assignmentEpoch, cg.state())
	if len(cg.subscription) > 0 {
		var ts []string
		for name, st := range cg.subscription {
			ts = append(ts, fmt.Sprintf("%s:%d", name, st.partitions))
		}
		sort.Strings(ts)
		fmt.Fprintf(b, " topics=%s", strings.Join(ts, ","))
	}
	b.WriteByte('\n')
	for _, id := range cg.memberIDs() {
		m := cg.members[id]
		fmt.Fprintf(b, "  cmember %s epoch=%d prev=%d %s", m.id, m.epoch, m.previousEpoch, m.state)
		if m.instanceID != nil {
			fmt.Fprintf(b, " instance=%s", *m.instanceID)
		}
		fmt.Fprintf(b, " subscribed=%s", strings.Join(m.topicNames, ","))
		if m.topicRegex != nil {
			fmt.Fprintf(b, " regex=%s", *m.topicRegex)
		}
		fmt.Fprintf(b, " assigned=%s", formatPartitions(m.assigned, names))
		if len(m.revoking) > 0 {
			fmt.Fprintf(b, " revoking=%s", formatPartitions(m.revoking, names))
		}
		fmt.Fprintf(b, " target=%s\n", formatPartitions(cg.target[id], names))
	}
}

// formatPartitions prints a set as topic:p,p;topic:p with topics named
// by names (or hex ids), sorted.
func formatPartitions(p partitions, names func(TopicID) string) string {
	if len(p) == 0 {
		return "[]"
	}
	var parts []string
	for _, t := range p.sortedTopics() {
		name := names(t)
		if name == "" {
			name = fmt.Sprintf("%x", t[:4])
		}
		var ps []string
		for _, x := range p[t] {
			ps = append(ps, fmt.Sprint(x))
		}
		parts = append(parts, name+":"+strings.Join(ps, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}
