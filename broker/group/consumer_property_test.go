package group

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// The consumer-protocol property drives a shard with simulated KIP-848
// consumers (join, heartbeat reporting what they own, lose an answer,
// leave, leave and return as a static member, crash) while time passes
// and topics grow, and checks:
//   - the coordinator never has a partition owned by two members
//     (assigned or pending revocation);
//   - what a live consumer believes it owns, the coordinator counts as
//     its own (so no two consumers ever read a partition at once);
//   - once the chaos stops and the live consumers keep heartbeating, every
//     subscribed partition is assigned, and the group is Stable;
//   - the log, and its compacted form, load back into the same state.

const cgTopic = "t"

type cgClient struct {
	name     string
	instance *string
	memberID string
	epoch    int32
	joined   bool
	dead     bool
	owned    partitions // what the consumer believes it owns
	subs     []string
}

type cgWorld struct {
	t       *rapid.T
	s       *Shard
	nowMs   int64
	ids     int
	log     []Record
	topics  harnessTopics
	clients []*cgClient
	gen     int // member id generations
}

func newCGWorld(t *rapid.T, cfg Config) *cgWorld {
	w := &cgWorld{t: t, nowMs: 5_000_000, topics: harnessTopics{cgTopic: int32(rapid.IntRange(1, 8).Draw(t, "partitions")), "u": 2}}
	w.s = NewShard(cfg, func() string { w.ids++; return strconv.Itoa(w.ids) })
	w.s.FinishLoad(w.nowMs, 0)
	n := rapid.IntRange(1, 4).Draw(t, "clients")
	for i := 0; i < n; i++ {
		c := &cgClient{name: fmt.Sprintf("c%d", i), owned: partitions{}, subs: []string{cgTopic}}
		if rapid.Bool().Draw(t, "static") {
			inst := c.name
			c.instance = &inst
		}
		if rapid.IntRange(0, 3).Draw(t, "subscribesU") == 0 {
			c.subs = []string{cgTopic, "u"}
		}
		w.clients = append(w.clients, c)
	}
	return w
}

// send runs one heartbeat and returns its answer (the log keeps the
// records; every record is durable at once here: durability is the
// classic properties' concern and shared by both protocols).
func (w *cgWorld) send(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	out := w.s.ConsumerHeartbeat(w.nowMs, req, Client{ID: "c"}, w.topics, "hb")
	w.append(out)
	out2 := w.s.Durable(w.nowMs, int64(len(w.log)))
	replies := append(out.Replies, out2.Replies...)
	if len(replies) != 1 {
		w.t.Fatalf("a heartbeat got %d answers", len(replies))
	}
	return replies[0].Resp.(*kmsg.ConsumerGroupHeartbeatResponse)
}

func (w *cgWorld) append(out Output) {
	if b := out.Batch; b != nil {
		if b.BaseOffset != int64(len(w.log)) {
			w.t.Fatalf("batch at %d, log ends at %d", b.BaseOffset, len(w.log))
		}
		w.log = append(w.log, b.Records...)
	}
}

func (w *cgWorld) request(c *cgClient, full bool) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch, req.InstanceID = propGroup, c.memberID, c.epoch, c.instance
	req.RebalanceTimeoutMillis = -1
	if full || c.epoch == 0 {
		req.RebalanceTimeoutMillis = 60000
		req.SubscribedTopicNames = c.subs
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		if c.epoch != 0 {
			for _, t := range c.owned.sortedTopics() {
				req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t, Partitions: c.owned[t]})
			}
		}
	}
	return req
}

// heartbeat: the client sends what it owns; lost drops the answer.
func (w *cgWorld) heartbeat(c *cgClient, full, lost bool) {
	if c.dead {
		return
	}
	if !c.joined {
		w.gen++
		c.memberID, c.epoch, c.owned, c.joined = fmt.Sprintf("%s-%d", c.name, w.gen), 0, partitions{}, true
		full = true
	}
	resp := w.send(w.request(c, full))
	if lost {
		return
	}
	switch {
	case resp.ErrorCode != 0:
		// Fenced or unknown: give everything up and join again (with the
		// same id when only the epoch was wrong, as clients do).
		c.owned, c.epoch = partitions{}, 0
		if resp.ErrorCode != 110 { // FENCED_MEMBER_EPOCH keeps the id
			c.joined = false
		}
	default:
		c.epoch = resp.MemberEpoch
		if resp.Assignment != nil {
			c.owned = responsePartitions(resp.Assignment)
		}
	}
}

func (w *cgWorld) leave(c *cgClient, static bool) {
	if c.dead || !c.joined {
		return
	}
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch, req.InstanceID = propGroup, c.memberID, leaveEpoch, c.instance
	if static && c.instance != nil {
		req.MemberEpoch = staticLeaveEpoch
	}
	w.send(req)
	c.owned, c.joined, c.epoch = partitions{}, false, 0
}

func (w *cgWorld) tick(ms int64) {
	w.nowMs += ms
	w.append(w.s.Tick(w.nowMs))
}

// check is the safety invariant after every step.
func (w *cgWorld) check() {
	g := w.s.groups[propGroup]
	if g == nil || g.cg == nil {
		return
	}
	cg := g.cg
	names, regexes := map[string]int{}, 0
	for _, m := range cg.members {
		for _, n := range m.topicNames {
			names[n]++
		}
		if m.topicRegex != nil {
			regexes++
		}
	}
	if fmt.Sprint(names) != fmt.Sprint(cg.names) || regexes != cg.regexes {
		w.t.Fatalf("subscriptions counted as %v (%d regexes), want %v (%d)", cg.names, cg.regexes, names, regexes)
	}
	seen := map[topicPartition]string{}
	for _, id := range cg.memberIDs() {
		m := cg.members[id]
		for _, set := range []partitions{m.assigned, m.revoking} {
			for t, ps := range set {
				for _, p := range ps {
					tp := topicPartition{t, p}
					if other, ok := seen[tp]; ok {
						w.t.Fatalf("partition %s-%d owned by %s and %s at once", testTopicName(t), p, other, id)
					}
					seen[tp] = id
				}
			}
		}
	}
	for _, c := range w.clients {
		if c.dead || !c.joined {
			continue
		}
		m := cg.members[c.memberID]
		if m == nil {
			continue // fenced: the client learns at its next heartbeat
		}
		for t, ps := range c.owned {
			for _, p := range ps {
				if !m.assigned.has(t, p) && !m.revoking.has(t, p) {
					w.t.Fatalf("%s reads %s-%d, which the coordinator does not count as its own", c.memberID, testTopicName(t), p)
				}
			}
		}
	}
}

// settle: the live clients heartbeat every 5 seconds (crashed members'
// sessions run out meanwhile); every subscribed partition must end up
// assigned and the group Stable.
func (w *cgWorld) settle() {
	live := 0
	for _, c := range w.clients {
		if !c.dead {
			live++
		}
	}
	if live == 0 {
		return
	}
	for round := 0; round < 24; round++ {
		for _, c := range w.clients {
			w.heartbeat(c, true, false)
			w.check()
		}
		w.tick(5000)
	}
	for round := 0; round < 3; round++ {
		for _, c := range w.clients {
			w.heartbeat(c, true, false)
			w.check()
		}
	}
	cg := w.s.groups[propGroup].cg
	if st := cg.state(); st != CGStable {
		w.t.Fatalf("the group is %s after its members settled:\n%s", st, w.s.Dump())
	}
	subscribed := map[string]bool{}
	for _, c := range w.clients {
		if !c.dead {
			for _, t := range c.subs {
				subscribed[t] = true
			}
		}
	}
	for topic := range subscribed {
		for p := int32(0); p < w.topics[topic]; p++ {
			if _, ok := cg.owner[topicPartition{testTopicID(topic), p}]; !ok {
				w.t.Fatalf("partition %s-%d is assigned to no one after the members settled:\n%s", topic, p, w.s.Dump())
			}
		}
	}
}

// reload: the log, and its compacted form, load back into the same
// state.
func (w *cgWorld) reload() {
	for name, log := range map[string][]Record{"log": w.log, "compacted log": compact(w.log)} {
		s := NewShard(w.s.cfg, w.s.newID)
		for _, r := range log {
			if err := s.Replay(r.Key, r.Value); err != nil {
				w.t.Fatalf("replay: %v", err)
			}
		}
		s.FinishLoad(w.nowMs, int64(len(w.log)))
		if got, want := s.Dump(), w.s.Dump(); got != want {
			w.t.Fatalf("the %s loads back as\n%s\nnot\n%s", name, got, want)
		}
	}
}

func consumerProperty(cfg Config) func(*rapid.T) {
	return func(t *rapid.T) {
		w := newCGWorld(t, cfg)
		pick := func() *cgClient { return rapid.SampledFrom(w.clients).Draw(t, "client") }
		t.Repeat(map[string]func(*rapid.T){
			"heartbeat": func(t *rapid.T) { w.heartbeat(pick(), rapid.Bool().Draw(t, "full"), false) },
			"lost":      func(t *rapid.T) { w.heartbeat(pick(), rapid.Bool().Draw(t, "full"), true) },
			"leave":     func(t *rapid.T) { w.leave(pick(), rapid.Bool().Draw(t, "staticLeave")) },
			"crash": func(t *rapid.T) {
				if c := pick(); rapid.IntRange(0, 3).Draw(t, "crashes") == 0 {
					c.dead = true
				}
			},
			"tick": func(t *rapid.T) {
				w.tick(int64(rapid.SampledFrom([]int{100, 5000, 31000, 46000}).Draw(t, "ms")))
			},
			"grow": func(t *rapid.T) {
				if w.topics[cgTopic] < 12 {
					w.topics[cgTopic]++
				}
			},
			"reload": func(t *rapid.T) { w.reload() },
			"": func(t *rapid.T) {
				w.check()
			},
		})
		w.settle()
		w.reload()
	}
}

func TestPropertyConsumerGroups(t *testing.T) {
	defer rapidEffort(300, 100)()
	rapid.Check(t, consumerProperty(DefaultConfig()))
}

// TestAssignorsBalanceAndCover: every assignor gives each subscribed
// partition to exactly one subscribed member, and the uniform one keeps
// members of the same subscription within one partition of each other.
func TestAssignorsBalanceAndCover(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		topics := map[TopicID]int32{}
		var ids []TopicID
		for i, n := 0, rapid.IntRange(1, 3).Draw(t, "topics"); i < n; i++ {
			id := testTopicID(fmt.Sprintf("t%d", i))
			topics[id] = int32(rapid.IntRange(0, 9).Draw(t, "partitions"))
			ids = append(ids, id)
		}
		spec := assignSpec{topics: topics, previous: map[string]partitions{}}
		homogeneous := rapid.Bool().Draw(t, "homogeneous")
		for i, n := 0, rapid.IntRange(1, 6).Draw(t, "members"); i < n; i++ {
			m := assignMember{id: fmt.Sprintf("m%d", i)}
			for _, id := range ids {
				if homogeneous || rapid.Bool().Draw(t, "subscribes") {
					m.topics = append(m.topics, id)
				}
			}
			spec.members = append(spec.members, m)
			prev := partitions{}
			for _, id := range m.topics {
				if topics[id] > 0 && rapid.Bool().Draw(t, "hadOne") {
					prev.add(id, int32(rapid.IntRange(0, int(topics[id])-1).Draw(t, "had")))
				}
			}
			spec.previous[m.id] = prev
		}
		for _, name := range []string{uniformAssignor, rangeAssignor} {
			out := runAssignor(name, spec)
			owner := map[topicPartition]string{}
			for _, m := range spec.members {
				for tid, ps := range out[m.id] {
					if !containsTopic(m.topics, tid) {
						t.Fatalf("%s: %s got a topic it does not subscribe to", name, m.id)
					}
					for _, p := range ps {
						tp := topicPartition{tid, p}
						if o, ok := owner[tp]; ok {
							t.Fatalf("%s: partition given to %s and %s", name, o, m.id)
						}
						owner[tp] = m.id
					}
				}
			}
			for _, id := range ids {
				subscribed := false
				for _, m := range spec.members {
					subscribed = subscribed || containsTopic(m.topics, id)
				}
				for p := int32(0); subscribed && p < topics[id]; p++ {
					if _, ok := owner[topicPartition{id, p}]; !ok {
						t.Fatalf("%s: partition %d of a subscribed topic is not assigned", name, p)
					}
				}
			}
			if name == uniformAssignor && homogeneous {
				lo, hi := 1<<30, -1
				for _, m := range spec.members {
					lo, hi = min(lo, out[m.id].count()), max(hi, out[m.id].count())
				}
				if hi-lo > 1 {
					t.Fatalf("uniform: members hold between %d and %d partitions", lo, hi)
				}
			}
		}
	})
}

func containsTopic(ts []TopicID, t TopicID) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
