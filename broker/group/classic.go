package group

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kbin"
)

// State is a classic group's state, as Kafka names it.
type State int8

const (
	// Empty: no members; offsets may still be committed (generation -1).
	Empty State = iota
	// PreparingRebalance: waiting for members to (re)join.
	PreparingRebalance
	// CompletingRebalance: members got their join answer; waiting for the
	// leader's assignment.
	CompletingRebalance
	// Stable: every member has its assignment.
	Stable
	// Dead: the group was deleted or its partition unloaded.
	Dead
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// validPrevious is Kafka's ClassicGroupState transition table: the states a
// group may enter each state from.
var validPrevious = [...][]State{
	Empty:               {PreparingRebalance},
	PreparingRebalance:  {Stable, CompletingRebalance, Empty},
	CompletingRebalance: {PreparingRebalance},
	Stable:              {CompletingRebalance},
	Dead:                {Stable, PreparingRebalance, CompletingRebalance, Empty, Dead},
}

// protocol is one assignor a member supports, with its opaque metadata.
type protocol struct {
	name     string
	metadata []byte
}

// member is one member of a classic group.
type member struct {
	id                 string
	instanceID         *string // static membership (KIP-345)
	clientID           string
	clientHost         string
	rebalanceTimeoutMs int32
	sessionTimeoutMs   int32
	protocolType       string
	protocols          []protocol
	assignment         []byte

	// joinWaiter is set while a JoinGroup is parked (awaiting join),
	// syncWaiter while a SyncGroup is; the versions shape their answers.
	joinWaiter  Waiter
	joinVersion int16
	syncWaiter  Waiter
	syncVersion int16

	// isNew: added in this join phase; such a member can expire even while
	// awaiting join (after NewMemberJoinTimeoutMs).
	isNew bool
	// timerSeq is the live session timer entry.
	timerSeq uint64
	// answerHeldUntil: the member's latest join or sync answer waits for
	// the log to be durable up to this offset (answerMember). Until it is,
	// the member awaits its answer, as a Kafka member awaits its sync
	// while the group's record is being written: its session does not
	// run (it starts when the answer goes out).
	answerHeldUntil int64
}

func (m *member) awaitingJoin() bool { return m.joinWaiter != nil }
func (m *member) awaitingSync() bool { return m.syncWaiter != nil }
func (m *member) static() bool       { return m.instanceID != nil }

// hasSatisfiedHeartbeat: a member waiting in a rebalance is alive by
// definition, unless it is new (Kafka's ClassicGroupMember).
func (m *member) hasSatisfiedHeartbeat() bool {
	return !m.isNew && (m.awaitingJoin() || m.awaitingSync())
}

// metadataFor is the member's metadata for the named protocol, or nil.
func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

// matches reports whether protocols are the member's, in the same order
// with the same metadata.
func (m *member) matches(protocols []protocol) bool {
	if len(protocols) != len(m.protocols) {
		return false
	}
	for i := range protocols {
		if protocols[i].name != m.protocols[i].name || !bytes.Equal(protocols[i].metadata, m.protocols[i].metadata) {
			return false
		}
	}
	return true
}

// group is a classic group and its committed offsets.
type group struct {
	id           string
	state        State
	prevState    State
	stateSinceMs int64
	protocolType string // "" until a member joins (or for offset-only groups)
	protocol     string // the selected assignor; "" when Empty
	generation   int32
	leader       string

	members []*member // in the order they joined: leader elections and outputs are deterministic
	byID    map[string]*member
	static  map[string]string // instance id -> member id
	// superseded: static members' replaced member ids -> instance id,
	// kept only with the UnfencedStaticMember defect (defect_static.go).
	superseded map[string]string
	// pending: member ids handed out with MEMBER_ID_REQUIRED, each with its
	// live timer entry.
	pending      map[string]uint64
	pendingSync  map[string]bool
	awaitingJoin int
	supported    map[string]int // protocol name -> members supporting it

	// subscribed: the topics the members of a "consumer" group subscribe
	// to, read from their metadata at each generation; known is false when
	// the protocol is not "consumer" or the metadata did not parse.
	subscribed      map[string]bool
	subscribedKnown bool

	newMemberAdded bool
	joinTimerSeq   uint64
	syncTimerSeq   uint64

	offsets map[string]map[int32]*offsetCommit // topic -> partition

	// cg is set for a group of the consumer protocol (KIP-848,
	// consumer.go): its classic fields then stay those of an empty group.
	cg *consumerGroup
}

func newGroup(id string, nowMs int64) *group {
	return &group{
		id: id, state: Empty, prevState: Dead, stateSinceMs: nowMs,
		byID: map[string]*member{}, static: map[string]string{},
		pending: map[string]uint64{}, pendingSync: map[string]bool{},
		supported: map[string]int{}, offsets: map[string]map[int32]*offsetCommit{},
	}
}

func (g *group) is(s State) bool { return g.state == s }

// isEmpty: the group has no members, of either protocol.
func (g *group) isEmpty() bool { return g.is(Empty) && (g.cg == nil || len(g.cg.members) == 0) }

func (g *group) transition(to State, nowMs int64) {
	ok := false
	for _, s := range validPrevious[to] {
		if s == g.state {
			ok = true
		}
	}
	if !ok {
		panic(fmt.Sprintf("group %q: invalid transition from %v to %v", g.id, g.state, to))
	}
	g.prevState, g.state, g.stateSinceMs = g.state, to, nowMs
}

// canRebalance: the states PreparingRebalance may be entered from.
func (g *group) canRebalance() bool {
	for _, s := range validPrevious[PreparingRebalance] {
		if s == g.state {
			return true
		}
	}
	return false
}

func (g *group) isLeader(id string) bool { return g.leader != "" && g.leader == id }

func (g *group) add(m *member, w Waiter, version int16) {
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	if g.leader == "" {
		g.leader = m.id
	}
	g.members = append(g.members, m)
	g.byID[m.id] = m
	for _, p := range m.protocols {
		g.supported[p.name]++
	}
	m.joinWaiter, m.joinVersion = w, version
	if w != nil {
		g.awaitingJoin++
	}
	delete(g.pending, m.id)
}

// remove takes a member out; its parked requests must have been answered.
func (g *group) remove(id string) {
	if m := g.byID[id]; m != nil {
		for _, p := range m.protocols {
			g.supported[p.name]--
		}
		if m.awaitingJoin() {
			g.awaitingJoin--
		}
		if m.instanceID != nil {
			delete(g.static, *m.instanceID)
		}
		delete(g.byID, id)
		for i, x := range g.members {
			if x == m {
				g.members = append(g.members[:i:i], g.members[i+1:]...)
				break
			}
		}
		m.timerSeq = 0
	}
	if g.isLeader(id) {
		g.leader = ""
		if len(g.members) > 0 {
			g.leader = g.members[0].id
		}
	}
	delete(g.pending, id)
	delete(g.pendingSync, id)
}

// update replaces a member's protocols and timeouts from a new join and
// sets (or clears) its parked JoinGroup.
func (g *group) update(m *member, protocols []protocol, rebalanceMs, sessionMs int32, w Waiter, version int16) {
	for _, p := range m.protocols {
		g.supported[p.name]--
	}
	m.protocols = protocols
	for _, p := range m.protocols {
		g.supported[p.name]++
	}
	m.rebalanceTimeoutMs, m.sessionTimeoutMs = rebalanceMs, sessionMs
	switch {
	case w != nil && !m.awaitingJoin():
		g.awaitingJoin++
	case w == nil && m.awaitingJoin():
		g.awaitingJoin--
	}
	m.joinWaiter, m.joinVersion = w, version
}

// replaceStatic gives a static member a new member id (KIP-345), keeping
// its assignment; the old id's parked requests are fenced by the caller.
func (g *group) replaceStatic(instanceID, oldID, newID string) *member {
	old := g.byID[oldID]
	m := *old
	m.id = newID
	m.joinWaiter, m.syncWaiter = nil, nil
	m.timerSeq, m.answerHeldUntil = 0, 0
	if old.awaitingJoin() {
		g.awaitingJoin--
	}
	delete(g.byID, oldID)
	for i, x := range g.members {
		if x == old {
			g.members[i] = &m
		}
	}
	g.byID[newID] = &m
	if g.isLeader(oldID) {
		g.leader = newID
	}
	g.static[instanceID] = newID
	delete(g.pendingSync, oldID)
	return &m
}

func (g *group) hasAllMembersJoined() bool {
	return len(g.members) == g.awaitingJoin && len(g.pending) == 0
}

// maybeElectNewJoinedLeader keeps the leader if it rejoined, else picks
// the first member that did; false when no member rejoined.
func (g *group) maybeElectNewJoinedLeader() bool {
	if g.leader == "" {
		return false
	}
	if g.byID[g.leader].awaitingJoin() {
		return true
	}
	for _, m := range g.members {
		if m.awaitingJoin() {
			g.leader = m.id
			return true
		}
	}
	return false
}

// supportsProtocols: a member may join if it has a protocol type and
// protocols (empty group), or if its type is the group's and one of its
// protocols is supported by every member.
func (g *group) supportsProtocols(protocolType string, protocols []protocol) bool {
	if g.is(Empty) {
		return protocolType != "" && len(protocols) > 0
	}
	if g.protocolType != protocolType {
		return false
	}
	for _, p := range protocols {
		if g.supported[p.name] == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol: every member votes for its most preferred protocol that
// all members support; most votes wins. Kafka breaks ties in hash order;
// here the lexically smallest name wins, so the choice is reproducible.
func (g *group) selectProtocol() string {
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.supported[p.name] == len(g.members) {
				votes[p.name]++
				break
			}
		}
	}
	best, bestVotes := "", 0
	for name, v := range votes {
		if v > bestVotes || (v == bestVotes && name < best) {
			best, bestVotes = name, v
		}
	}
	return best
}

// initNextGeneration starts generation+1: CompletingRebalance with the
// selected protocol, or Empty without members.
func (g *group) initNextGeneration(nowMs int64) {
	g.generation++
	if len(g.members) > 0 {
		g.protocol = g.selectProtocol()
		g.computeSubscribed()
		g.transition(CompletingRebalance, nowMs)
	} else {
		g.protocol = ""
		g.computeSubscribed()
		g.transition(Empty, nowMs)
	}
	clear(g.pendingSync)
}

// consumerProtocolType is the protocol type of Kafka consumers, the only
// one whose metadata the coordinator reads.
const consumerProtocolType = "consumer"

// computeSubscribed reads the subscribed topics from the members' metadata
// for the selected protocol, as Kafka does, with the version-0 prefix of
// the consumer protocol that every version starts with.
func (g *group) computeSubscribed() {
	g.subscribed, g.subscribedKnown = nil, false
	if g.protocolType != consumerProtocolType {
		return
	}
	topics := map[string]bool{}
	if len(g.members) > 0 {
		if g.protocol == "" {
			return
		}
		for _, m := range g.members {
			names, ok := subscribedTopics(m.metadataFor(g.protocol))
			if !ok {
				return
			}
			for _, t := range names {
				topics[t] = true
			}
		}
	}
	g.subscribed, g.subscribedKnown = topics, true
}

// subscribedTopics parses the topics of a consumer protocol subscription:
// int16 version, then an array of strings.
func subscribedTopics(metadata []byte) ([]string, bool) {
	r := kbin.Reader{Src: metadata}
	r.Int16()
	n := r.ArrayLen()
	if !r.Ok() || n < 0 || int(n) > len(r.Src) {
		return nil, false
	}
	topics := make([]string, 0, n)
	for i := int32(0); i < n; i++ {
		topics = append(topics, r.String())
	}
	return topics, r.Ok()
}

// isSubscribedTo: whether the group reads topic; unknown subscriptions
// count as subscribed for consumer groups only (Kafka's ClassicGroup).
func (g *group) isSubscribedTo(topic string) bool {
	if g.cg != nil {
		return g.cg.subscribedTo(topic)
	}
	if g.subscribedKnown {
		return g.subscribed[topic]
	}
	return g.protocolType == consumerProtocolType
}

func (g *group) memberIDs() []string {
	ids := make([]string, len(g.members))
	for i, m := range g.members {
		ids[i] = m.id
	}
	return ids
}

func (g *group) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v gen=%d", g.id, g.state, g.generation)
	if g.protocolType != "" {
		fmt.Fprintf(&b, " type=%s", g.protocolType)
	}
	if g.protocol != "" {
		fmt.Fprintf(&b, " protocol=%s", g.protocol)
	}
	if g.leader != "" {
		fmt.Fprintf(&b, " leader=%s", g.leader)
	}
	if len(g.members) > 0 {
		fmt.Fprintf(&b, " members=%s", strings.Join(g.memberIDs(), ","))
	}
	if len(g.pending) > 0 {
		ids := make([]string, 0, len(g.pending))
		for id := range g.pending {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		fmt.Fprintf(&b, " pending=%s", strings.Join(ids, ","))
	}
	return b.String()
}

func cloneStringPtr(s *string) *string {
	if s == nil {
		return nil
	}
	c := strings.Clone(*s)
	return &c
}
