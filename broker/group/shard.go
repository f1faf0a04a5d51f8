package group

import (
	"container/heap"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Waiter identifies a request the shell waits to answer. The shard never
// looks inside it: it only hands it back in a [Reply], exactly once. It
// must be non-nil and comparable (the broker uses a pointer; tests use
// names).
type Waiter any

// Reply is the answer to the request the shell passed with To.
type Reply struct {
	To   Waiter
	Resp kmsg.Response
}

// Record is one __consumer_offsets record. A nil Value is a tombstone.
// The shard does not keep or change a Record after emitting it.
type Record struct {
	Key, Value []byte
}

// Batch is records to append to the shard's partition, in order, at
// BaseOffset: each record takes one offset. The shell must append them
// there or, if it cannot, stop using the shard (its state is already ahead
// of the log): see [Shard.Unload].
type Batch struct {
	BaseOffset int64
	Records    []Record
}

// TxnBatch is a batch the shard writes for a producer's transaction, after
// the call's Batch: the transactional offset commits of a TxnCommit
// (Records, in a transactional batch of ProducerID at ProducerEpoch, with
// no sequence numbers), or the transaction marker of a CompleteTxn (one
// control record, taking one offset; Records is nil).
type TxnBatch struct {
	BaseOffset    int64
	ProducerID    int64
	ProducerEpoch int16
	Records       []Record
	Marker        *TxnMarker
}

// Len is how many offsets the batch takes.
func (b *TxnBatch) Len() int64 {
	if b.Marker != nil {
		return 1
	}
	return int64(len(b.Records))
}

// TxnMarker is a transaction marker: producer ProducerID's transaction
// committed (Commit) or aborted.
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
	// TV2: the coordinator bumped the epoch for this marker (transaction
	// version 2). The shard does not use it; the shell checks the marker
	// with it when it writes it.
	TV2 bool
}

// Output is what one call decided. The shell appends Batch (if any), then
// TxnBatch (if any), before anything else it is told later, and delivers
// Replies.
type Output struct {
	Batch    *Batch
	TxnBatch *TxnBatch
	Replies  []Reply
}

// Client is who sent a request, as DescribeGroups shows members.
type Client struct {
	ID   string // client.id
	Host string // address the request came from
}

// IDSource returns a new unique string at each call: the random part of a
// member id (a UUID in the broker, a counter in tests).
type IDSource func() string

// Shard is the coordinator of the groups that live in one __consumer_offsets
// partition. See the package documentation.
type Shard struct {
	cfg   Config
	newID IDSource

	groups map[string]*group

	// now is the latest time input, in Unix milliseconds.
	now int64

	// loading until FinishLoad; unloaded after Unload.
	loading, unloaded bool

	// nextOffset is where the next batch goes; durable is how far the log
	// is durable. Replies decided while durable < nextOffset wait in held.
	nextOffset, durable int64
	held                []heldReply
	// answered: the classic members given a join or sync answer in the
	// current call (answerMember); heldAnswers: those whose answer waits
	// in held, whose sessions start when it goes out.
	answered    []memberRef
	heldAnswers []heldAnswer

	// records and replies collect what the current call decides; txn is
	// the call's transactional batch, and txnCommits the offsets it
	// commits, whose log offsets end() fills in.
	records    []Record
	replies    []Reply
	txn        *TxnBatch
	txnCommits []*offsetCommit

	// pendingTxn: offsets committed inside transactions that have not
	// ended, by producer id (txn.go).
	pendingTxn map[int64]*pendingTxn
	// replayPos numbers the records Replay reads, in log order: the
	// position of a loaded commit, compared with others like a log offset.
	replayPos int64

	timers    timerHeap
	timerSeq  uint64
	expirySeq uint64

	// skipped counts records Replay did not understand (other record
	// types: consumer group regular expressions, share and streams
	// groups), which it ignores as Kafka's older coordinators do.
	skipped int
}

type heldReply struct {
	after int64 // released once durable >= after
	reply Reply
}

// memberRef is a classic member of a group, as it was when referred to: a
// member replaced (a static member's new id) or removed since is another.
type memberRef struct {
	g *group
	m *member
}

// current reports whether the member is still in its group.
func (r memberRef) current(s *Shard) bool {
	return s.groups[r.g.id] == r.g && r.g.byID[r.m.id] == r.m
}

// heldAnswer is a member whose join or sync answer waits until durable
// reaches after.
type heldAnswer struct {
	after int64
	ref   memberRef
}

// NewShard returns a shard ready to be loaded: Replay every record of its
// partition, then FinishLoad. cfg is copied; newID must not be nil.
func NewShard(cfg Config, newID IDSource) *Shard {
	return &Shard{cfg: cfg, newID: newID, groups: map[string]*group{}, pendingTxn: map[int64]*pendingTxn{}, loading: true}
}

// begin starts a call at time nowMs: time only moves forward, and what
// was due by then happens first, as it would have had a timer fired on
// time.
func (s *Shard) begin(nowMs int64) {
	s.runDue(nowMs)
	if nowMs > s.now {
		s.now = nowMs
	}
}

// end runs what became due during the call (a zero delay), then packs the
// call's records and replies into an Output.
func (s *Shard) end() Output {
	s.runDue(s.now)
	var out Output
	if len(s.records) > 0 {
		out.Batch = &Batch{BaseOffset: s.nextOffset, Records: s.records}
		s.nextOffset += int64(len(s.records))
		s.records = nil
	}
	if s.txn != nil {
		s.txn.BaseOffset = s.nextOffset
		for i, oc := range s.txnCommits {
			oc.logOffset = s.nextOffset + int64(i)
		}
		out.TxnBatch = s.txn
		s.nextOffset += s.txn.Len()
		s.txn, s.txnCommits = nil, nil
	}
	hold := s.durable < s.nextOffset && !s.cfg.Defects.AnswerBeforeDurable
	for _, r := range s.replies {
		if !hold {
			out.Replies = append(out.Replies, r)
		} else {
			s.held = append(s.held, heldReply{after: s.nextOffset, reply: r})
		}
	}
	for _, a := range s.answered {
		if hold && a.current(s) {
			a.m.answerHeldUntil = max(a.m.answerHeldUntil, s.nextOffset)
			s.heldAnswers = append(s.heldAnswers, heldAnswer{after: s.nextOffset, ref: a})
		}
	}
	s.replies, s.answered = nil, nil
	return out
}

// reply queues resp for w; end decides whether it can go now.
func (s *Shard) reply(w Waiter, resp kmsg.Response) {
	if w == nil {
		panic("group: reply to a nil waiter")
	}
	w, resp = unalias(w, resp) // the UnfencedStaticMember defect's
	s.replies = append(s.replies, Reply{To: w, Resp: resp})
}

// answerMember queues a classic member's join or sync answer: if it has to
// wait for durability, so does the member's session (answerHeldUntil).
func (s *Shard) answerMember(g *group, m *member, w Waiter, resp kmsg.Response) {
	s.reply(w, resp)
	s.answered = append(s.answered, memberRef{g, m})
}

// answerAwaited reports whether m still waits for a join or sync answer
// held for durability.
func (s *Shard) answerAwaited(m *member) bool { return m.answerHeldUntil > s.durable }

// emit queues a record for the call's batch.
func (s *Shard) emit(r Record) { s.records = append(s.records, r) }

// emitCommit queues the record of a commit and notes where it will land.
func (s *Shard) emitCommit(r Record, oc *offsetCommit) {
	oc.logOffset = s.nextOffset + int64(len(s.records))
	s.emit(r)
}

// Durable tells the shard that every record below offset is durable (the
// partition's high watermark) at nowMs, releasing the replies that waited
// for it. The sessions of classic members whose join or sync answer goes
// out start then. (The shard's time moves on at its next call, which runs
// the timers due first.)
func (s *Shard) Durable(nowMs, offset int64) Output {
	if offset > s.durable {
		s.durable = offset
	}
	var out Output
	n := 0
	for n < len(s.held) && s.held[n].after <= s.durable {
		out.Replies = append(out.Replies, s.held[n].reply)
		n++
	}
	s.held = s.held[n:]
	n = 0
	for n < len(s.heldAnswers) && s.heldAnswers[n].after <= s.durable {
		if a := s.heldAnswers[n].ref; a.current(s) && !s.answerAwaited(a.m) {
			a.m.timerSeq = s.scheduleAt(timer{kind: timerSession, group: a.g.id, member: a.m.id}, max(nowMs, s.now)+int64(a.m.sessionTimeoutMs))
		}
		n++
	}
	s.heldAnswers = s.heldAnswers[n:]
	return out
}

// Pending reports whether replies wait for records to become durable.
func (s *Shard) Pending() bool { return len(s.held) > 0 }

// Tick tells the shard the time is nowMs: it acts on every timeout due.
func (s *Shard) Tick(nowMs int64) Output {
	if s.loading || s.unloaded {
		return Output{}
	}
	s.begin(nowMs)
	return s.end()
}

// NextDeadline is the time (Unix ms) at which Tick has something to do;
// ok is false when nothing is scheduled.
func (s *Shard) NextDeadline() (atMs int64, ok bool) {
	for len(s.timers) > 0 {
		if s.timerValid(s.timers[0]) {
			return s.timers[0].at, true
		}
		heap.Pop(&s.timers)
	}
	return 0, false
}

// Unload gives the partition up (leadership moved, or its log failed):
// every parked or held request is answered NOT_COORDINATOR, and every later
// call too. The shell drops the shard afterwards; a new leader loads the
// partition from the log.
func (s *Shard) Unload() Output {
	var out Output
	for _, h := range s.held {
		out.Replies = append(out.Replies, Reply{To: h.reply.To, Resp: withError(h.reply.Resp, kerr.NotCoordinator.Code)})
	}
	s.held, s.heldAnswers = nil, nil
	for _, id := range s.sortedGroupIDs() {
		for _, m := range s.groups[id].members {
			if m.joinWaiter != nil {
				to, resp := unalias(m.joinWaiter, joinError(m.joinVersion, m.id, kerr.NotCoordinator.Code))
				out.Replies = append(out.Replies, Reply{To: to, Resp: resp})
				m.joinWaiter = nil
			}
			if m.syncWaiter != nil {
				out.Replies = append(out.Replies, Reply{To: m.syncWaiter, Resp: syncError(m.syncVersion, kerr.NotCoordinator.Code)})
				m.syncWaiter = nil
			}
		}
	}
	s.groups = map[string]*group{}
	s.pendingTxn = map[int64]*pendingTxn{}
	s.timers = nil
	s.unloaded = true
	return out
}

// unavailable is the error a shard that cannot serve answers with, or 0.
func (s *Shard) unavailable() int16 {
	switch {
	case s.unloaded:
		return kerr.NotCoordinator.Code
	case s.loading:
		return kerr.CoordinatorLoadInProgress.Code
	}
	return 0
}

func (s *Shard) sortedGroupIDs() []string {
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Timers. Every timeout is an entry in one heap; an entry whose target has
// since been rescheduled, cancelled or removed is stale and skipped: each
// target records the sequence number of its live entry.

type timerKind uint8

const (
	timerSession           timerKind = iota // a member's session (or new-member join) timeout
	timerPending                            // a member id handed out with MEMBER_ID_REQUIRED, not yet used
	timerJoin                               // the join phase's rebalance timeout
	timerInitialJoin                        // the initial rebalance delay of a group that was empty
	timerSync                               // members that got their join answer must sync by then
	timerExpireOffsets                      // periodic offset expiration
	timerConsumerSession                    // a consumer-protocol member's session
	timerConsumerRebalance                  // a consumer-protocol member revoking too long
)

type timer struct {
	at     int64
	seq    uint64
	kind   timerKind
	group  string
	member string
	// For timerInitialJoin: the delay just waited and the rebalance time
	// left. For timerSync: the generation it belongs to.
	delay, remaining int64
	generation       int32
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// schedule adds t, due afterMs from now, and returns its sequence number,
// which the target keeps to recognise its live entry.
func (s *Shard) schedule(t timer, afterMs int64) uint64 {
	return s.scheduleAt(t, s.now+max(afterMs, 0))
}

// scheduleAt adds t, due at atMs.
func (s *Shard) scheduleAt(t timer, atMs int64) uint64 {
	s.timerSeq++
	t.seq = s.timerSeq
	t.at = atMs
	heap.Push(&s.timers, t)
	return t.seq
}

func (s *Shard) timerValid(t timer) bool {
	if t.kind == timerExpireOffsets {
		return s.expirySeq == t.seq
	}
	g := s.groups[t.group]
	if g == nil {
		return false
	}
	switch t.kind {
	case timerSession:
		m := g.byID[t.member]
		return m != nil && m.timerSeq == t.seq
	case timerPending:
		return g.pending[t.member] == t.seq
	case timerJoin, timerInitialJoin:
		return g.joinTimerSeq == t.seq
	case timerSync:
		return g.syncTimerSeq == t.seq
	case timerConsumerSession, timerConsumerRebalance:
		if g.cg == nil {
			return false
		}
		m := g.cg.members[t.member]
		return m != nil && (m.sessionSeq == t.seq && t.kind == timerConsumerSession || m.rebalanceSeq == t.seq && t.kind == timerConsumerRebalance)
	}
	return false
}

// runDue fires every live timer due by nowMs, in time order, each at its
// own time (what it schedules counts from then), including ones that
// firing schedules with no delay.
func (s *Shard) runDue(nowMs int64) {
	for len(s.timers) > 0 && s.timers[0].at <= nowMs {
		t := heap.Pop(&s.timers).(timer)
		if !s.timerValid(t) {
			continue
		}
		if t.at > s.now {
			s.now = t.at
		}
		switch t.kind {
		case timerSession, timerPending:
			s.expireMember(s.groups[t.group], t.member)
		case timerJoin:
			s.groups[t.group].joinTimerSeq = 0
			s.completeJoin(s.groups[t.group])
		case timerInitialJoin:
			s.groups[t.group].joinTimerSeq = 0
			s.initialDelayElapsed(s.groups[t.group], t.delay, t.remaining)
		case timerSync:
			s.groups[t.group].syncTimerSeq = 0
			s.expirePendingSync(s.groups[t.group], t.generation)
		case timerConsumerSession, timerConsumerRebalance:
			s.consumerTimeout(s.groups[t.group], t.member, t.kind == timerConsumerRebalance, t.generation)
		case timerExpireOffsets:
			s.expirySeq = 0
			s.expireOffsets()
			s.scheduleOffsetExpiry()
		}
	}
}

func (s *Shard) scheduleOffsetExpiry() {
	s.expirySeq = s.schedule(timer{kind: timerExpireOffsets}, s.cfg.OffsetsRetentionCheckIntervalMs)
}

// refuse answers w at once, outside any call: an error reveals no state,
// so it waits for nothing.
func refuse(w Waiter, resp kmsg.Response) Output {
	return Output{Replies: []Reply{{To: w, Resp: resp}}}
}
