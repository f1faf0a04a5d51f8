package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// GroupConfig makes the workload's consumers members of one consumer group
// (Kafka's classic protocol, through kgo.ConsumerGroup) instead of readers
// that assign or subscribe without a group. Zero fields take the defaults
// noted.
type GroupConfig struct {
	// Name is the group id; empty: no group (the consumers assign and
	// subscribe).
	Name string
	// Balancer is the members' assignor: range, roundrobin, sticky or
	// cooperative-sticky (the default). One per run: members of one group
	// must share a protocol.
	Balancer string
	// Lifetime is the mean life of a member incarnation (exponential);
	// then it leaves cleanly or, with CrashShare, crashes: its connections
	// are cut and its client closed with nothing more sent. Default 15s;
	// negative: members live until the run ends.
	Lifetime   time.Duration
	CrashShare float64 // default 0.5; negative: never crash
	// AbruptLeaveShare is the share of the clean leaves that go as the
	// Java consumer's close does with auto-commit off: no final commit,
	// and a LeaveGroup sent at once, whatever JoinGroup or SyncGroup the
	// client has in flight (kgo's own leave waits for them to be
	// answered), then the client dropped. The others commit what they
	// processed and leave through kgo. Default 0.5; negative: never.
	AbruptLeaveShare float64
	// Downtime is the mean pause before a slot joins again. Default 1s.
	Downtime time.Duration
	// RestartEvery is the mean time between rolling restarts (exponential),
	// as a deployment does them: the incarnation of each slot in turn
	// ends (it leaves as a lifetime's end does, but never crashes: a
	// deployment stops its processes), RestartGap
	// (mean, exponential) after the previous one, so that members go
	// while the rebalance the previous one caused is under way. Defaults
	// 10s and 1s; negative RestartEvery: no rolling restarts.
	RestartEvery time.Duration
	RestartGap   time.Duration
	// CommitChance is the chance after a poll that a member commits what
	// it processed. Default 0.3; negative: never.
	CommitChance float64
	// OffsetsChance is the chance after a poll that a member reads the
	// group's committed offsets. Default 0.05; negative: never.
	OffsetsChance float64
	// LateCommitChance is the chance after a poll that a member sends the
	// commit of a partition a rebalance took from it, with the generation
	// it processed it in, as a request delayed past the rebalance would
	// arrive: a correct coordinator refuses it. Default 0.05; negative:
	// never.
	LateCommitChance float64
	// SessionTimeout is the members' session timeout (the broker's minimum
	// is Kafka's 6s), RebalanceTimeout how long a rebalance waits for
	// them. Defaults 6s and 10s.
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// AssignDelay is the mean (exponential) time the group's leader takes
	// to compute an assignment once its JoinGroup is answered, as a
	// leader with a slow assignor, a large group or a busy process would:
	// the other members' SyncGroups wait at the coordinator meanwhile, and
	// a member that leaves or is removed then must still get its answer.
	// Zero: the leader assigns at once. Not with the consumer protocol,
	// which has no client-side assignor.
	AssignDelay time.Duration
	// Protocol is the members' group protocol: ProtocolClassic (JoinGroup
	// and SyncGroup, the client's assignor; the default) or
	// ProtocolConsumer (KIP-848: ConsumerGroupHeartbeat, the coordinator
	// assigns; kgo.ServerSideBalancer, which asks for the server-side
	// assignor "range" with Balancer range and "uniform" with sticky or
	// cooperative-sticky, and takes no other Balancer).
	Protocol string
	// Static gives each member slot a group.instance.id of its own
	// (KIP-345): every incarnation of the slot joins as that instance, so
	// the coordinator hands a restarted member the assignment of the one
	// before without a rebalance and fences the one before.
	Static bool
	// ZombieShare is, with Static, the share of a member's crashes that
	// are not: the process stops (a long pause: its traffic frozen, its
	// connections open) while the slot starts its next incarnation under
	// the same instance id, as an orchestrator replaces a process it
	// believes dead; ZombieGap (mean, exponential) later the old process
	// goes on for ZombieLife (mean) of polls, each followed by
	// a commit of what it processed, then crashes. The coordinator must
	// have fenced it: no commit of it is accepted once the new
	// incarnation joined, while that one holds the instance (with the
	// consumer protocol, a new incarnation that leaves first frees the
	// instance for the next member to join, which may be the old
	// client). Defaults 0.5, 3s and 2s; negative ZombieShare: none.
	ZombieShare float64
	ZombieGap   time.Duration
	ZombieLife  time.Duration
}

// The group protocols of GroupConfig.Protocol.
const (
	ProtocolClassic  = "classic"
	ProtocolConsumer = history.ProtocolConsumer
)

// GroupProtocols lists the protocols GroupConfig.Protocol accepts.
func GroupProtocols() []string { return []string{ProtocolClassic, ProtocolConsumer} }

// ConsumerBalancers lists the Balancers the consumer protocol accepts
// (kgo asks for a server-side assignor only with these), sorted.
func ConsumerBalancers() []string { return []string{"cooperative-sticky", "range", "sticky"} }

// Balancers are the assignors GroupConfig.Balancer accepts.
var balancers = map[string]func() kgo.GroupBalancer{
	"range":              kgo.RangeBalancer,
	"roundrobin":         kgo.RoundRobinBalancer,
	"sticky":             kgo.StickyBalancer,
	"cooperative-sticky": kgo.CooperativeStickyBalancer,
}

// GroupBalancers lists the assignors GroupConfig.Balancer accepts, sorted.
func GroupBalancers() []string {
	return []string{"cooperative-sticky", "range", "roundrobin", "sticky"}
}

func (g GroupConfig) withDefaults() (GroupConfig, error) {
	if g.Name == "" {
		return g, nil
	}
	if g.AssignDelay < 0 {
		return g, fmt.Errorf("queue: negative group assign delay %v", g.AssignDelay)
	}
	if g.Balancer == "" {
		g.Balancer = "cooperative-sticky"
	}
	if balancers[g.Balancer] == nil {
		return g, fmt.Errorf("queue: unknown group balancer %q (known: %v)", g.Balancer, GroupBalancers())
	}
	switch g.Protocol {
	case "":
		g.Protocol = ProtocolClassic
	case ProtocolClassic:
	case ProtocolConsumer:
		if !slices.Contains(ConsumerBalancers(), g.Balancer) {
			return g, fmt.Errorf("queue: the consumer protocol takes balancer %v, not %q (kgo would fall back to the classic protocol)", ConsumerBalancers(), g.Balancer)
		}
		if g.AssignDelay != 0 {
			return g, errors.New("queue: the consumer protocol has no client-side assignor to delay")
		}
	default:
		return g, fmt.Errorf("queue: unknown group protocol %q (known: %v)", g.Protocol, GroupProtocols())
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&g.Lifetime, 15*time.Second)
	def(&g.Downtime, time.Second)
	def(&g.RestartEvery, 10*time.Second)
	def(&g.RestartGap, time.Second)
	def(&g.SessionTimeout, 6*time.Second)
	def(&g.RebalanceTimeout, 10*time.Second)
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	deff(&g.CrashShare, 0.5)
	deff(&g.AbruptLeaveShare, 0.5)
	deff(&g.CommitChance, 0.3)
	deff(&g.OffsetsChance, 0.05)
	deff(&g.LateCommitChance, 0.05)
	if g.Static {
		def(&g.ZombieGap, 3*time.Second)
		def(&g.ZombieLife, 2*time.Second)
		deff(&g.ZombieShare, 0.5)
	}
	return g, nil
}

// GroupOffsetsProcess is the process of the group's committed offsets read
// after the final read (FinalReads), below the final reads' ids.
const GroupOffsetsProcess = FinalProcess - 1

// TxnOffsetsProcess is the process of the read of the offsets the
// transactional mode's transactions committed (TxnConfig.Group), after
// the final read.
const TxnOffsetsProcess = FinalProcess - 2

// groupConsume runs member incarnations of the group in this consumer's
// slot, one at a time, until ctx ends.
func (w *worker) groupConsume(ctx context.Context) error {
	var closing sync.WaitGroup // crashed clients closing in the background
	defer closing.Wait()
	first := true
	for ctx.Err() == nil {
		if !first {
			w.proc.Crash() // every incarnation is a process of its own
		}
		first = false
		m := &member{w: w, g: &w.cfg.Group, closing: &closing, owned: map[int32]bool{}, next: map[int32]history.GroupOffset{}, gone: map[int32]lateOffset{}}
		m.run(ctx)
		if !gen.Sleep(ctx, gen.Exp(w.rng, w.cfg.Group.Downtime)) {
			break
		}
	}
	return nil
}

// rollingRestarts ends, every RestartEvery (mean), the incarnation of each
// slot in turn, RestartGap (mean) apart, until ctx ends. A slot is told by
// a send on its channel, which only a running incarnation receives: a slot
// between incarnations is skipped.
func rollingRestarts(ctx context.Context, g *GroupConfig, rng *rand.Rand, slots []chan struct{}) {
	for gen.Sleep(ctx, gen.Exp(rng, g.RestartEvery)) {
		for _, slot := range slots {
			select {
			case slot <- struct{}{}:
			default:
			}
			if !gen.Sleep(ctx, gen.Exp(rng, g.RestartGap)) {
				return
			}
		}
	}
}

// member is one incarnation of a group member: one client, one process
// for its polls, commits and offset reads, one for its assignment events.
type member struct {
	w      *worker
	g      *GroupConfig
	pid    int // its process (the slot's next incarnation has another)
	events int // the events process
	// instance is the slot's group.instance.id with GroupConfig.Static,
	// else empty.
	instance string
	kill     *gen.Killable
	cl       *kgo.Client
	closing  *sync.WaitGroup

	mu    sync.Mutex // owned and next: kgo's callbacks run on its goroutines
	owned map[int32]bool
	// next is, per owned partition, one past the last record processed
	// and that record's leader epoch: what a commit would say.
	next map[int32]history.GroupOffset
	// committed is what this member last had accepted, per partition.
	committed map[int32]int64
	// gone holds, per partition revoked from this member, what it had
	// processed of it and in which generation: a late commit's.
	gone map[int32]lateOffset
	// topic is the workload topic's id once a late commit learnt it.
	topic [16]byte
}

// lateOffset is a processed offset of a partition since revoked.
type lateOffset struct {
	off history.GroupOffset
	gen int32
}

// run joins, polls (committing and reading the group's offsets now and
// then) until ctx or the incarnation's life ends, then leaves or crashes.
func (m *member) run(ctx context.Context) {
	w, g := m.w, m.g
	m.pid = w.proc.ID
	if g.Static {
		m.instance = g.Name + "-" + w.host
	}
	ev := *w.proc
	ev.Crash() // a fresh id for the events process
	m.events = ev.ID
	life, cancel := ctx, context.CancelFunc(func() {})
	if g.Lifetime > 0 {
		life, cancel = context.WithTimeout(ctx, gen.Exp(w.rng, g.Lifetime))
	}
	defer cancel()
	restarted := make(chan struct{})
	if w.restart != nil {
		go func() { // a rolling restart ends the incarnation's life early
			select {
			case <-w.restart:
				close(restarted)
				cancel()
			case <-life.Done():
			}
		}()
	}
	crash := w.rng.Float64() < g.CrashShare
	if !m.join() {
		return
	}
	m.committed = map[int32]int64{}
	unanswered := false // a commit had no answer
	for life.Err() == nil {
		fs, _ := gen.Poll(life, w.rec, m.pid, m.cl, w.cfg.PollTimeout)
		m.processed(fs)
		ok := true
		if w.rng.Float64() < g.CommitChance {
			ok = m.commit(ctx)
		}
		if ok && w.rng.Float64() < g.OffsetsChance {
			m.fetchOffsets(ctx)
		}
		if ok && w.rng.Float64() < g.LateCommitChance {
			ok = m.lateCommit(ctx)
		}
		m.cl.AllowRebalance()
		if !ok { // a commit with no answer: the process is considered crashed
			unanswered = true
			break
		}
		gen.Sleep(life, w.cfg.PollInterval)
	}
	select {
	case <-restarted: // a restart stops the process; it does not kill it
		crash = false
	default:
	}
	if (crash || unanswered) && ctx.Err() == nil {
		if crash && g.Static && w.rng.Float64() < g.ZombieShare {
			m.zombie(ctx)
			return
		}
		m.crash()
		return
	}
	if ctx.Err() == nil && w.rng.Float64() < g.AbruptLeaveShare {
		m.leaveAbruptly(ctx)
		return
	}
	// A clean leave mid-run commits what it processed first, as a
	// consumer closing does; at the run's end members just leave.
	if ctx.Err() == nil && !m.commit(ctx) {
		m.crash()
		return
	}
	m.cl.CloseAllowingRebalance()
}

// join records a join and makes the member's client.
func (m *member) join() bool {
	w, g := m.w, m.g
	j := &history.Join{Group: g.Name, Topics: []string{w.cfg.Topic}, Balancer: g.Balancer, ReadCommitted: w.cfg.readCommitted(), Events: m.events, InstanceID: m.instance}
	if g.Protocol == ProtocolConsumer {
		j.Protocol = history.ProtocolConsumer
	}
	w.rec.Record(history.Op{Process: m.pid, Type: history.Invoke, F: history.FnJoin, Join: j})
	cc := w.cfg.clientConfig(w.host)
	m.kill = gen.NewKillable(cc.Dialer)
	cc.Dialer = m.kill.Dial
	opts := w.cfg.isolation()
	if m.instance != "" {
		opts = append(opts, kgo.InstanceID(m.instance))
	}
	if g.Protocol == ProtocolConsumer {
		// KIP-848: kgo heartbeats with ConsumerGroupHeartbeat and asks
		// for the server-side assignor its first balancer names.
		opts = append(opts, kgo.ServerSideBalancer())
	}
	cl, err := cc.New(append(opts,
		kgo.ConsumerGroup(g.Name),
		kgo.ConsumeTopics(w.cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(m.balancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(g.SessionTimeout),
		kgo.RebalanceTimeout(g.RebalanceTimeout),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
			m.event(cl, history.Assigned, ps[w.cfg.Topic])
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
			m.event(cl, history.Revoked, ps[w.cfg.Topic])
		}),
		kgo.OnPartitionsLost(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
			m.event(cl, history.Lost, ps[w.cfg.Topic])
		}),
	)...)
	op := history.Op{Process: m.pid, Type: history.OK, F: history.FnJoin, Join: j}
	if err != nil {
		op.Type, op.Error = history.Fail, err.Error()
	}
	w.rec.Record(op)
	m.cl = cl
	return err == nil
}

// balancer is the member's assignor, slowed by the group's AssignDelay
// when the member leads a rebalance.
func (m *member) balancer() kgo.GroupBalancer {
	b := balancers[m.g.Balancer]()
	if m.g.AssignDelay <= 0 || m.g.Protocol == ProtocolConsumer {
		// kgo recognizes its own balancers only: a wrapped one would
		// turn the consumer protocol back into the classic one.
		return b
	}
	// kgo balances on its own goroutine: the delays come from a
	// generator of their own, split off before the client starts.
	return slowBalancer{GroupBalancer: b, rng: gen.Child(m.w.rng), mean: m.g.AssignDelay}
}

// slowBalancer is an assignor that takes an exponential time of mean
// mean before it starts balancing (kgo calls MemberBalancer on the leader
// only, between its JoinGroup answer and its SyncGroup).
type slowBalancer struct {
	kgo.GroupBalancer
	rng  *rand.Rand
	mean time.Duration
}

func (b slowBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	time.Sleep(gen.Exp(b.rng, b.mean))
	return b.GroupBalancer.MemberBalancer(members)
}

// event records a change of the member's partitions, with the member id
// and generation the client holds as it reports it.
func (m *member) event(cl *kgo.Client, kind string, changed []int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, generation := cl.GroupMetadata()
	for _, p := range changed {
		if kind == history.Assigned {
			m.owned[p] = true
			delete(m.gone, p)
			continue
		}
		if o, ok := m.next[p]; ok && kind == history.Revoked {
			m.gone[p] = lateOffset{off: o, gen: generation}
		}
		delete(m.owned, p)
		delete(m.next, p)
	}
	var owned []int32
	for p := range m.owned {
		owned = append(owned, p)
	}
	slices.Sort(owned)
	changed = slices.Sorted(slices.Values(changed))
	a := &history.Assignment{Group: m.g.Name, Member: id, Generation: generation, Event: kind, Topic: m.w.cfg.Topic, Owned: owned, Changed: slices.Compact(changed)}
	m.w.rec.Record(history.Op{Process: m.events, Type: history.Invoke, F: history.FnAssignment, Assignment: a})
	m.w.rec.Record(history.Op{Process: m.events, Type: history.OK, F: history.FnAssignment, Assignment: a})
}

// processed notes the last record of each owned partition a poll returned.
func (m *member) processed(fs kgo.Fetches) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fs.EachRecord(func(r *kgo.Record) {
		// Control records (kept: Config.isolation) are not processed; a
		// commit stays right after the last record the member read.
		if r.Topic == m.w.cfg.Topic && m.owned[r.Partition] && !r.Attrs.IsControl() {
			m.next[r.Partition] = history.GroupOffset{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset + 1, LeaderEpoch: r.LeaderEpoch}
		}
	})
}

// commit commits what the member processed since its last commit, with
// the generation it holds, and records it. It reports false when the
// commit had no answer (the process is then considered crashed).
func (m *member) commit(ctx context.Context) bool {
	m.mu.Lock()
	var offs []history.GroupOffset
	for _, p := range slices.Sorted(maps.Keys(m.next)) {
		o := m.next[p]
		if c, ok := m.committed[p]; ok && c >= o.Offset {
			continue
		}
		o.Metadata = fmt.Sprintf("p%d", m.pid)
		offs = append(offs, o)
	}
	m.mu.Unlock()
	if len(offs) == 0 {
		return true
	}
	id, generation := m.cl.GroupMetadata()
	return m.send(ctx, offs, id, generation, m.commitThroughClient)
}

// lateCommit sends, with LateCommitChance, the commit of a partition this
// member processed before a rebalance took it away, as if the request had
// been delayed past that rebalance: with the generation it was made in. A
// correct coordinator refuses it (ILLEGAL_GENERATION, or
// STALE_MEMBER_EPOCH with the consumer protocol); it reports false when
// the commit had no answer.
//
// The request is the workload's own (lateRequest), not kgo's
// CommitOffsetsSync: kgo holds a commit made during a rebalance until the
// rebalance completes and sends it with the new generation (seed 3004),
// and answers a STALE_MEMBER_EPOCH by sending the commit again 500 ms
// later at the member's new epoch, for the partitions it owns then. A
// late commit of a partition given back to the member meanwhile was so
// committed at its new epoch, and the group's offset went back to what
// the member had processed generations earlier, below the commit of the
// partition's owner in between (seed 2 of the consumer protocol: a
// nonmonotonic-commit and committed-redeliveries on a correct broker).
func (m *member) lateCommit(ctx context.Context) bool {
	id, generation := m.cl.GroupMetadata()
	m.mu.Lock()
	var offs []history.GroupOffset
	stale := int32(-1)
	for _, p := range slices.Sorted(maps.Keys(m.gone)) {
		if g := m.gone[p]; g.gen >= 0 && g.gen < generation && (stale < 0 || g.gen == stale) {
			stale = g.gen
			o := g.off
			o.Metadata = fmt.Sprintf("p%d late", m.pid)
			offs = append(offs, o)
		}
	}
	m.mu.Unlock()
	if len(offs) == 0 {
		return true
	}
	topicID, ok := m.topicID(ctx)
	if !ok {
		return true // no late commit this time; it stays for the next
	}
	m.mu.Lock()
	for _, o := range offs {
		delete(m.gone, o.Partition)
	}
	m.mu.Unlock()
	return m.send(ctx, offs, id, stale, func(ctx context.Context, offs []history.GroupOffset, answer *gen.CommitAnswer) error {
		return m.lateRequest(ctx, offs, id, stale, topicID, answer)
	})
}

// topicID returns the id of the workload's topic (OffsetCommit v10 names
// topics by id), asked of the cluster the first time; false if it could
// not be learnt. Only the member's own goroutine calls it.
func (m *member) topicID(ctx context.Context) ([16]byte, bool) {
	if m.topic != ([16]byte{}) {
		return m.topic, true
	}
	tctx, cancel := context.WithTimeout(ctx, m.w.cfg.OpTimeout)
	defer cancel()
	td, err := kadm.NewClient(m.cl).ListTopics(tctx, m.w.cfg.Topic)
	if err != nil {
		return [16]byte{}, false
	}
	d, ok := td[m.w.cfg.Topic]
	if !ok || d.Err != nil || d.ID == (kadm.TopicID{}) {
		return [16]byte{}, false
	}
	m.topic = d.ID
	return m.topic, true
}

// lateRequest sends offs as one OffsetCommit of member id at generation,
// which kgo routes to the group's coordinator (and sends again only when
// the coordinator moved or was loading: never at another generation).
func (m *member) lateRequest(ctx context.Context, offs []history.GroupOffset, id string, generation int32, topicID [16]byte, answer *gen.CommitAnswer) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = m.g.Name, id, generation
	if m.instance != "" {
		instance := m.instance
		req.InstanceID = &instance
	}
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = m.w.cfg.Topic, topicID
	for _, o := range offs {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
		md := o.Metadata
		rp.Metadata = &md
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, m.cl)
	answer.Note(req, resp)
	return err
}

// commitThroughClient commits offs with kgo's CommitOffsetsSync, the
// metadata of each partition set on its request.
func (m *member) commitThroughClient(ctx context.Context, offs []history.GroupOffset, answer *gen.CommitAnswer) error {
	w := m.w
	eos := map[int32]kgo.EpochOffset{}
	meta := map[int32]string{}
	for _, o := range offs {
		eos[o.Partition] = kgo.EpochOffset{Epoch: o.LeaderEpoch, Offset: o.Offset}
		meta[o.Partition] = o.Metadata
	}
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			for j := range req.Topics[i].Partitions {
				p := &req.Topics[i].Partitions[j]
				if md, ok := meta[p.Partition]; ok && req.Topics[i].Topic == w.cfg.Topic {
					p.Metadata = &md
				}
			}
		}
		return nil
	})
	var err error
	m.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{w.cfg.Topic: eos},
		func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, r *kmsg.OffsetCommitResponse, e error) {
			err = e
			answer.Note(req, r)
		})
	return err
}

// send records the commit of offs as member id of generation, commits them
// with do and records the answer: with the generation of the request the
// coordinator answered, which is not the one recorded at the invoke when
// kgo sent the commit again at a new member epoch (it does after a
// STALE_MEMBER_EPOCH). It reports false when the commit had no answer.
func (m *member) send(ctx context.Context, offs []history.GroupOffset, id string, generation int32,
	do func(context.Context, []history.GroupOffset, *gen.CommitAnswer) error) bool {
	w := m.w
	c := &history.Commit{Group: m.g.Name, Member: id, Generation: generation, Offsets: offs}
	w.rec.Record(history.Op{Process: m.pid, Type: history.Invoke, F: history.FnCommit, Commit: c})
	cctx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
	answer := gen.CommitAnswer{Topic: w.cfg.Topic, Generation: generation}
	err := do(cctx, offs, &answer)
	cancel()
	done := &history.Commit{Group: c.Group, Member: c.Member, Generation: answer.Generation, Offsets: slices.Clone(offs)}
	op := history.Op{Process: m.pid, Type: history.OK, F: history.FnCommit, Commit: done}
	if err != nil || answer.Resp == nil {
		op.Type, op.Error = history.Info, fmt.Sprint(err)
		w.rec.Record(op)
		return false
	}
	accepted := answer.MarkCommitted(done.Offsets)
	m.mu.Lock()
	for _, o := range done.Offsets {
		if slices.Contains(accepted, o.Partition) {
			m.committed[o.Partition] = o.Offset
		}
	}
	m.mu.Unlock()
	w.rec.Record(op)
	return true
}

// fetchOffsets reads the group's committed offsets of the topic and
// records them. A read has no effect: an error is a fail.
func (m *member) fetchOffsets(ctx context.Context) {
	w := m.w
	w.rec.Record(history.Op{Process: m.pid, Type: history.Invoke, F: history.FnOffsets, Offsets: &history.Offsets{Group: m.g.Name}})
	fctx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
	defer cancel()
	w.rec.Record(gen.OffsetsOp(fctx, kadm.NewClient(m.cl), m.pid, m.g.Name, w.cfg.Topic))
}

// crash cuts the member's connections and closes its client with nothing
// more reaching the cluster, like a killed process.
func (m *member) crash() {
	m.kill.Kill()
	cl := m.cl
	cl.AllowRebalance()
	m.closing.Add(1)
	go func() {
		defer m.closing.Done()
		cl.Close()
	}()
}

// leaveAbruptly leaves as the Java consumer's close does with auto-commit
// off: a LeaveGroup at once, even while the client waits for its JoinGroup
// or SyncGroup, and no final commit; then the client is dropped like a
// crashed one (kgo would leave again, after that rebalance).
func (m *member) leaveAbruptly(ctx context.Context) {
	id, _ := m.cl.GroupMetadata()
	switch {
	case id == "":
	case m.g.Protocol == ProtocolConsumer:
		m.leaveConsumerGroup(ctx, id)
	case m.instance != "":
		// A static member of the classic protocol sends no LeaveGroup
		// when it closes (KIP-345): its next incarnation takes its
		// place, or its session ends.
	default:
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group, req.MemberID = m.g.Name, id // v0-2 name the member here
		leaving := kmsg.NewLeaveGroupRequestMember()
		leaving.MemberID = id
		req.Members = append(req.Members, leaving) // v3 and up, here
		lctx, cancel := context.WithTimeout(ctx, m.w.cfg.OpTimeout)
		// Whatever the answer, the member is gone: a refused or lost
		// LeaveGroup leaves it to its session timeout, as a crash does.
		_, _ = req.RequestWith(lctx, m.cl)
		cancel()
	}
	m.crash()
}

// leaveConsumerGroup is leaveAbruptly's leave with the consumer protocol,
// as the Java consumer's close sends it: a ConsumerGroupHeartbeat with
// member epoch -1, or -2 for a static member, which keeps its partitions
// for its next incarnation until its session ends.
func (m *member) leaveConsumerGroup(ctx context.Context, id string) {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch = m.g.Name, id, -1
	if m.instance != "" {
		instance := m.instance
		req.InstanceID, req.MemberEpoch = &instance, -2
	}
	lctx, cancel := context.WithTimeout(ctx, m.w.cfg.OpTimeout)
	defer cancel()
	_, _ = req.RequestWith(lctx, m.cl) // whatever the answer: as leaveAbruptly's
}

// zombie is a static member's crash that is not one: the process stops
// (its traffic frozen, its connections open), as a process in a long
// pause does, while its slot starts the next incarnation under the same
// instance id. ZombieGap (mean) later it goes on for ZombieLife (mean):
// its client sends what it held (a heartbeat), it commits what it had
// processed, then polls and commits what it processed after every poll,
// with the member id and generation its client holds, then crashes. The coordinator fenced it
// when the next incarnation joined, so none of those commits may be
// accepted.
func (m *member) zombie(ctx context.Context) {
	m.kill.Freeze()
	rng := gen.Child(m.w.rng) // split before the slot goes on
	gap, life := gen.Exp(rng, m.g.ZombieGap), gen.Exp(rng, m.g.ZombieLife)
	m.closing.Add(1)
	go func() {
		defer m.closing.Done()
		defer m.crash()
		if !gen.Sleep(ctx, gap) {
			return
		}
		m.kill.Thaw()
		// A stopped process goes on where it stopped: it commits what it
		// processed before its next poll.
		if !m.commit(ctx) {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, life)
		defer cancel()
		for lctx.Err() == nil {
			fs, _ := gen.Poll(lctx, m.w.rec, m.pid, m.cl, m.w.cfg.PollTimeout)
			m.processed(fs)
			ok := m.commit(ctx)
			m.cl.AllowRebalance()
			if !ok {
				return
			}
			gen.Sleep(lctx, m.w.cfg.PollInterval)
		}
	}()
}

// groupFinalOffsets reads group's committed offsets once the cluster
// healed (gen.FinalOffsets), as one offsets op of process.
func groupFinalOffsets(ctx context.Context, cfg Config, rec *history.Recorder, process int, group string) error {
	if err := gen.FinalOffsets(ctx, cfg.clientConfig(finalHost), rec, process, group, cfg.Topic); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}
