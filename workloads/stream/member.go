package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Crash points inside a batch.
const (
	noCrash = iota
	crashBeforeWrite
	crashBeforeCommit
	crashAfterCommit
)

// assignWait is how long an incarnation waits for an assignment before its
// lifetime starts all the same: a join's longest wait (the 10s rebalance
// timeout) and a little more.
const assignWait = 12 * time.Second

// member is one incarnation of a member slot: one history process, one
// client, one App.
type member struct {
	p          *Processor
	slot       int
	rng        *rand.Rand
	proc       *gen.Process
	closing    *sync.WaitGroup
	crashAtEnd bool

	kill    *gen.Killable
	crashed bool // crash ran: a second one (after a begin gave up) does nothing
	cc      gen.ClientConfig
	cl      *kgo.Client
	sess    *kgo.GroupTransactSession // nil unless transactional
	app     App
	client  int // the client's id in the history (history.Send.Client)
	batch   int
	// unconfirmed is set when kgo logged that an EndTxn's outcome is
	// unknown (it then reports an abort it cannot confirm).
	unconfirmed atomic.Bool

	evMu   sync.Mutex
	events []event // partition changes from kgo's callbacks, applied between polls

	// evProc is the process of the incarnation's assignment ops
	// (history.Join.Events); restoreProc that of its restores, whose
	// assigns must not start a consumer session of the member's process
	// (its input polls go on in the join's). held is what the client
	// holds as its callbacks reported it (under evMu), for the
	// assignment ops, each partition with the member id the client had
	// when its callback reported it assigned (staleClaim).
	evProc, restoreProc int
	held                map[int32]string
	// capped: the last poll returned Config.MaxBatch records.
	capped bool

	owned   map[int32]bool  // partitions this member holds
	restore map[int32]bool  // held partitions whose state must be restored first
	next    map[int32]int64 // one past the last input offset processed, per partition
}

type event struct {
	assigned bool
	parts    []int32
}

// partitionsChanged takes a change of the client's partitions, as its
// callbacks (or a session's log) report it: recorded at once, applied
// between polls.
func (m *member) partitionsChanged(cl *kgo.Client, kind string, ps map[string][]int32) {
	m.recordEvent(cl, kind, ps[m.p.cfg.Input])
	m.note(kind == history.Assigned, ps)
}

func (m *member) note(assigned bool, ps map[string][]int32) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	m.events = append(m.events, event{assigned, slices.Clone(ps[m.p.cfg.Input])})
}

// applyEvents applies the partition changes kgo reported since the last
// poll, in order.
func (m *member) applyEvents() {
	m.evMu.Lock()
	evs := m.events
	m.events = nil
	m.evMu.Unlock()
	for _, e := range evs {
		for _, p := range e.parts {
			if e.assigned {
				m.owned[p], m.restore[p] = true, true
				continue
			}
			delete(m.owned, p)
			delete(m.restore, p)
			delete(m.next, p)
			m.app.Drop(p)
		}
	}
}

// run runs the incarnation until the run (ctx) ends, its lifetime runs
// out or it crashes; when the run ended, it leaves the group; when its
// lifetime ran out, it leaves or crashes as drawn. The lifetime (0: the
// whole run) counts from the incarnation's first assignment, or from
// assignWait after it started if it gets none by then (more members than
// partitions), so that every incarnation that gets partitions processes
// some input before it ends.
func (m *member) run(ctx context.Context, lifetime time.Duration) {
	life, endLife := ctx, context.CancelFunc(func() {})
	clockStarted := lifetime <= 0
	if lifetime > 0 {
		life, endLife = context.WithTimeout(ctx, assignWait+lifetime)
	}
	defer func() { endLife() }()
	startClock := func() {
		if clockStarted {
			return
		}
		clockStarted = true
		endLife()
		life, endLife = context.WithTimeout(ctx, lifetime)
	}
	cfg := &m.p.cfg
	m.prepare()
	j := m.joinOp()
	m.p.rec.Record(history.Op{Process: m.proc.ID, Type: history.Invoke, F: history.FnJoin, Join: j})
	if err := m.open(); err != nil {
		m.p.rec.Record(history.Op{Process: m.proc.ID, Type: history.Fail, F: history.FnJoin, Join: j, Error: err.Error()})
		return
	}
	m.p.rec.Record(history.Op{Process: m.proc.ID, Type: history.OK, F: history.FnJoin, Join: j})
	_, pollTimeout := m.cc.Timeouts()
	for life.Err() == nil {
		pctx, cancel := context.WithTimeout(life, pollTimeout)
		fs := m.pollRecords(pctx)
		cancel()
		m.applyEvents()
		if offsetOutOfRange(fs, cfg.Input) {
			m.crash()
			return
		}
		if len(m.owned) > 0 {
			startClock()
		}
		var rs []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if r.Topic == cfg.Input && m.owned[r.Partition] {
				rs = append(rs, r)
			}
		})
		if len(rs) == 0 {
			m.allowRebalance()
			continue
		}
		if err := m.restoreAll(life); err != nil {
			m.crash()
			return
		}
		var ok bool
		if m.sess != nil {
			ok = m.txnBatch(rs)
		} else {
			ok = m.plainBatch(rs)
		}
		if !ok {
			m.crash()
			return
		}
	}
	if ctx.Err() == nil && m.crashAtEnd {
		m.crash()
		return
	}
	m.leave()
}

// offsetOutOfRange reports whether a poll answered a partition of the
// input OFFSET_OUT_OF_RANGE. The member's committed offsets are all below
// the high watermark of a leader that served them, so a leader's answer
// never puts one past its log end; a broker that answers so is not the
// partition's leader any more, only one that has not heard (seed 73088:
// a new member's fresh client took its metadata from n1, deposed and cut
// off from the controller, whose log ended at 104, below the committed
// 168). Resetting to the log start, as kgo's AtStart reset does (Java's
// auto.offset.reset=earliest too), would process everything from the
// start again and emit it twice; the member ends its incarnation instead,
// and the next one's client learns the leader afresh.
func offsetOutOfRange(fs kgo.Fetches, input string) bool {
	var out bool
	fs.EachError(func(topic string, _ int32, err error) {
		out = out || topic == input && errors.Is(err, kerr.OffsetOutOfRange)
	})
	return out
}

// prepare sets up what the incarnation needs before its client opens:
// its dialer, App, client id, processes and partition maps.
func (m *member) prepare() {
	cfg := &m.p.cfg
	m.kill = gen.NewKillable(cfg.Client.Dialer)
	m.cc = cfg.Client
	m.cc.Dialer = m.kill.Dial
	m.app = cfg.NewApp()
	m.client = cfg.IDs.Next()
	m.owned, m.restore, m.next = map[int32]bool{}, map[int32]bool{}, map[int32]int64{}
	ev := *m.proc
	ev.Crash()
	m.evProc, m.held = ev.ID, map[int32]string{}
	ev.Crash()
	m.restoreProc = ev.ID
}

// open makes the incarnation's client: a GroupTransactSession when
// transactional, else a group consumer that commits by hand and holds
// rebalances back while a batch is under way.
func (m *member) open() error {
	cfg := &m.p.cfg
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Input),
		// A partition without a commit starts at the log start; an
		// OFFSET_OUT_OF_RANGE ends the incarnation (offsetOutOfRange)
		// instead of resetting: auto.offset.reset=none.
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.SessionTimeout(6 * time.Second),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
			m.partitionsChanged(cl, history.Assigned, ps)
		}),
	}
	transact := cfg.Transactional && !cfg.NoTransaction
	if !transact {
		// A session's revokes and losses come from its log instead
		// (sessionLogger).
		opts = append(opts,
			kgo.OnPartitionsRevoked(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
				m.partitionsChanged(cl, history.Revoked, ps)
			}),
			kgo.OnPartitionsLost(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
				m.partitionsChanged(cl, history.Lost, ps)
			}))
	}
	if cfg.Static {
		opts = append(opts, kgo.InstanceID(m.p.instanceID(m.slot)))
	}
	if cfg.Consumer() {
		// KIP-848: kgo heartbeats with ConsumerGroupHeartbeat and asks
		// for the server-side assignor its balancer (the default,
		// cooperative-sticky) names: uniform.
		opts = append(opts, kgo.ServerSideBalancer())
	}
	if cfg.Transactional {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if transact {
		log := &sessionLogger{unconfirmed: &m.unconfirmed, ready: make(chan struct{})}
		opts = append(opts,
			kgo.TransactionalID(m.p.instanceID(m.slot)),
			kgo.TransactionTimeout(cfg.TxnTimeout),
			kgo.WithLogger(log))
		sess, err := kgo.NewGroupTransactSession(m.cc.Options(opts...)...)
		if err != nil {
			return err
		}
		m.sess, m.cl = sess, sess.Client()
		log.changed = func(kind string, ps map[string][]int32) { m.partitionsChanged(m.cl, kind, ps) }
		close(log.ready)
		return nil
	}
	opts = append(opts, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
	cl, err := m.cc.New(opts...)
	m.cl = cl
	return err
}

// pollRecords polls up to a batch of input records, as a poll op of the
// member's process. After a poll that stopped at the batch's limit, kgo
// returns the rest of its fetches: their watermarks are older than the
// history can tell (gen.PollWith).
func (m *member) pollRecords(ctx context.Context) kgo.Fetches {
	fs, _ := gen.PollWith(m.p.rec, m.proc.ID, m.capped, m.cl, func() kgo.Fetches {
		if m.sess != nil {
			return m.sess.PollRecords(ctx, m.p.cfg.MaxBatch)
		}
		return m.cl.PollRecords(ctx, m.p.cfg.MaxBatch)
	})
	m.capped = fs.NumRecords() >= m.p.cfg.MaxBatch
	return fs
}

func (m *member) allowRebalance() {
	if m.sess == nil {
		m.cl.AllowRebalance()
	}
}

// leave closes the client cleanly: it leaves the group.
func (m *member) leave() {
	if m.sess != nil {
		m.sess.Close()
		return
	}
	m.cl.CloseAllowingRebalance()
}

// crash cuts the incarnation's connections and closes its client with
// nothing more reaching the cluster, like a killed process. The close
// finishes in the background (the slot waits for it before it returns).
func (m *member) crash() {
	if m.crashed {
		return
	}
	m.crashed = true
	m.kill.Kill()
	// A crash can come between a poll and its batch (a restore that
	// failed): a client that still blocks rebalances would wait in Close
	// for an AllowRebalance that never comes, and the slot with it.
	m.allowRebalance()
	cl := m.cl
	m.closing.Add(1)
	go func() {
		defer m.closing.Done()
		cl.Close()
	}()
}

// restoreAll restores every held partition that needs it.
func (m *member) restoreAll(ctx context.Context) error {
	for _, p := range slices.Sorted(maps.Keys(m.restore)) {
		if err := m.restorePartition(ctx, p); err != nil {
			return err
		}
		delete(m.restore, p)
	}
	return nil
}

// restorePartition reads partition p of every output topic to its end and
// hands it to the App.
func (m *member) restorePartition(ctx context.Context, p int32) error {
	cfg := &m.p.cfg
	m.app.Drop(p)
	if cfg.SkipRestore {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.RestoreTimeout)
	defer cancel()
	outs := map[string][]*kgo.Record{}
	for _, topic := range cfg.Outputs {
		_, err := gen.ReadToEnd(rctx, m.cc, m.p.rec, m.restoreProc, gen.Read{
			Topic: topic, Partitions: []int32{p},
			ReadCommitted: cfg.Transactional, DefectReadUncommitted: cfg.ReadUncommitted,
			Visit: func(r *kgo.Record) { outs[topic] = append(outs[topic], r) },
		})
		if err != nil {
			return fmt.Errorf("restore %s/%d: %w", topic, p, err)
		}
	}
	m.app.Restore(p, outs)
	return nil
}

// process runs the App over rs and returns the batch.
func (m *member) process(rs []*kgo.Record) *Batch {
	m.batch++
	b := &Batch{tag: fmt.Sprintf("c%d.%d", m.client, m.batch)}
	m.app.Process(b, rs)
	for _, r := range rs {
		m.next[r.Partition] = r.Offset + 1
	}
	return b
}

// drawCrash draws whether and where this batch crashes.
func (m *member) drawCrash() int {
	if m.rng.Float64() >= m.p.cfg.CrashChance {
		return noCrash
	}
	return crashBeforeWrite + m.rng.IntN(3)
}

// invoke records the invoke of b's txn op and returns its completion to
// fill in.
func (m *member) invoke(b *Batch, transactional bool) *history.Txn {
	inv := &history.Txn{Transactional: transactional}
	done := &history.Txn{Transactional: transactional}
	if transactional {
		inv.Group, done.Group = m.p.cfg.Group, m.p.cfg.Group // its offsets are committed inside it
	}
	for _, r := range b.outputs {
		s := history.Send{Client: m.client, Topic: r.Topic, Key: string(r.Key), Value: string(r.Value), Partition: history.Unknown, Offset: history.Unknown}
		si, sd := s, s
		inv.Mops = append(inv.Mops, history.Mop{F: history.FnSend, Send: &si})
		done.Mops = append(done.Mops, history.Mop{F: history.FnSend, Send: &sd})
	}
	m.p.rec.Record(history.Op{Process: m.proc.ID, Type: history.Invoke, F: history.FnTxn, Txn: inv})
	return done
}

func (m *member) complete(t *history.Txn, typ history.Type, err string) {
	m.p.rec.Record(history.Op{Process: m.proc.ID, Type: typ, F: history.FnTxn, Txn: t, Error: err})
}

// produceAll hands b's outputs to the client; the returned wait blocks
// until every promise ran, then fills in t's positions (t may be nil when
// b has no outputs). Until wait returns, t is not touched, so a batch
// that ends before waiting records no position it did not learn.
func (m *member) produceAll(ctx context.Context, b *Batch, t *history.Txn) func() error {
	var wg sync.WaitGroup
	type result struct {
		p   int32
		o   int64
		err error
	}
	res := make([]result, len(b.outputs))
	for i, r := range b.outputs {
		wg.Add(1)
		m.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			res[i] = result{r.Partition, r.Offset, err}
		})
	}
	return func() error {
		wg.Wait()
		var errs []error
		for i, r := range res {
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			t.Mops[i].Send.Partition, t.Mops[i].Send.Offset = r.p, r.o
		}
		return errors.Join(errs...)
	}
}

// workContext bounds a batch's writes and end: not the run's context, so
// that a batch under way when the run ends completes and is recorded.
func (m *member) workContext() (context.Context, context.CancelFunc) {
	op, _ := m.cc.Timeouts()
	return context.WithTimeout(context.Background(), 3*op)
}

func (m *member) batchOffsets(rs []*kgo.Record) map[int32]int64 {
	out := map[int32]int64{}
	for _, r := range rs {
		out[r.Partition] = m.next[r.Partition]
	}
	return out
}

// sessionOffsets are the offsets the session's End will commit inside the
// transaction (kgo commits the client's uncommitted offsets, with the
// member id as metadata). kgo does not tell how the TxnOffsetCommit was
// answered, so each is recorded as accepted: on a transaction the session
// aborted, one may never have been sent. The members read no offsets, so
// aborted-offset-commit judges nothing of these runs; the offsets are
// recorded for what the history can show.
func (m *member) sessionOffsets() []history.GroupOffset {
	member, _ := m.cl.GroupMetadata()
	var out []history.GroupOffset
	for topic, ps := range m.cl.UncommittedOffsets() {
		for p, eo := range ps {
			out = append(out, history.GroupOffset{Topic: topic, Partition: p, Offset: eo.Offset, LeaderEpoch: max(eo.Epoch, history.Unknown), Metadata: member})
		}
	}
	slices.SortFunc(out, func(a, b history.GroupOffset) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// begin begins the session's transaction within a work context of its
// own: kgo's Begin takes no context and can wait for good
// (gen.BeginTxn), in which case the incarnation crashes.
func (m *member) begin() error {
	ctx, cancel := m.workContext()
	defer cancel()
	return gen.BeginTxn(ctx, m.sess.Begin, m.crash)
}

// txnBatch runs one batch in a transaction. It reports false when the
// incarnation must end (crashed, or its transactional state is broken).
func (m *member) txnBatch(rs []*kgo.Record) bool {
	cfg := &m.p.cfg
	if err := m.begin(); err != nil {
		return false
	}
	b := m.process(rs)
	point := m.drawCrash()
	abort := m.rng.Float64() < cfg.AbortChance
	wctx, cancel := m.workContext()
	defer cancel()
	// Every transaction is recorded, one without outputs too: its
	// offsets, and the rewind when it does not commit, are the group's.
	t := m.invoke(b, true)
	if point == crashBeforeWrite {
		if t != nil {
			m.complete(t, history.Info, "crashed before writing")
		}
		return false
	}
	wait := m.produceAll(wctx, b, t)
	if point == crashBeforeCommit {
		if t != nil {
			m.complete(t, history.Info, "crashed before committing")
		}
		return false
	}
	// Flush before ending, to learn what became of every output: kgo's
	// End commits the input offsets whatever became of the records (it
	// flushes but does not look at them; kgo's own example aborts on the
	// first failed promise), so a transaction whose writes failed would
	// commit its input without its outputs (seed 32008: the producer id
	// could not be loaded for the outputs, then could for the offsets).
	// An abort on purpose flushes too: it must leave aborted records in
	// the log for read_committed readers to skip (kgo drops what is
	// still buffered when it aborts).
	var perr error
	flushed := m.cl.Flush(wctx) == nil
	if flushed {
		perr = wait()
	}
	// A flush that did not finish (the work context ended) lets End fail
	// a commit before it commits anything: End flushes first, and
	// returns its error.
	commit := !abort && perr == nil
	if commit {
		t.CommitTime = m.p.rec.Now()
		t.Offsets = m.sessionOffsets()
	}
	m.unconfirmed.Store(false)
	committed, err := m.sess.End(wctx, kgo.TransactionEndTry(commit))
	if !flushed {
		perr = wait()
	}
	if t != nil {
		switch {
		case err != nil:
			m.complete(t, history.Info, err.Error())
		case committed && perr == nil:
			m.complete(t, history.OK, "")
		case committed:
			// Cannot happen (a failed write makes the member abort); if
			// it did, the history says so.
			m.complete(t, history.Info, "committed with a failed write: "+perr.Error())
		case m.unconfirmed.Load():
			m.complete(t, history.Info, "end of transaction unconfirmed")
		case perr != nil:
			m.complete(t, history.Fail, "aborted after a failed write: "+perr.Error())
		default:
			why := "aborted by the session"
			if abort {
				why = "aborted on purpose"
			}
			m.complete(t, history.Fail, why)
		}
	}
	if committed {
		m.p.noteCommitted(m.batchOffsets(rs))
	} else if !cfg.KeepStateOnAbort {
		// The session rewound the input to the committed offsets: what
		// the App did since is undone by restoring.
		for p := range m.owned {
			m.restore[p] = true
		}
	}
	if err != nil || point == crashAfterCommit {
		return false
	}
	return true
}

// plainBatch runs one batch at-least-once: write, wait for the
// acknowledgements, then commit (or, planted, commit first), or the
// NoTransaction defect's imitation of a transaction.
func (m *member) plainBatch(rs []*kgo.Record) bool {
	defer m.allowRebalance()
	cfg := &m.p.cfg
	b := m.process(rs)
	point := m.drawCrash()
	abort := cfg.Transactional && m.rng.Float64() < cfg.AbortChance
	wctx, cancel := m.workContext()
	defer cancel()
	offsets := map[int32]int64{}
	for p, next := range m.batchOffsets(rs) {
		offsets[p] = next
		if !cfg.Transactional {
			offsets[p] = m.app.Committable(p, next)
		}
	}
	if cfg.CommitBeforeWrite {
		// Planted: commit what was consumed before anything is written.
		if !m.commit(wctx, m.batchOffsets(rs)) {
			return false
		}
	}
	var t *history.Txn
	if len(b.outputs) > 0 {
		t = m.invoke(b, cfg.Transactional)
	}
	if point == crashBeforeWrite {
		if t != nil {
			m.complete(t, history.Info, "crashed before writing")
		}
		return false
	}
	perr := m.produceAll(wctx, b, t)()
	if perr != nil {
		if t != nil {
			m.complete(t, history.Info, perr.Error())
		}
		return false
	}
	if point == crashBeforeCommit {
		if t != nil {
			m.complete(t, history.Info, "crashed before committing")
		}
		return false
	}
	if abort {
		// The planted NoTransaction defect "aborts": it does not commit
		// and forgets its state, but its outputs are out already.
		if t != nil {
			m.complete(t, history.Fail, "aborted on purpose")
		}
		for p := range m.owned {
			m.restore[p] = true
		}
		return m.rewind()
	}
	if t != nil && cfg.Transactional {
		t.CommitTime = m.p.rec.Now()
	}
	if t != nil {
		// Every output was acknowledged: the batch's op is complete
		// before its commit, an op of its own.
		m.complete(t, history.OK, "")
	}
	if !cfg.CommitBeforeWrite && !m.commit(wctx, offsets) {
		return false
	}
	return point != crashAfterCommit
}

// commit commits offsets for the input partitions and reports whether the
// incarnation goes on: a partition refused is not fatal (the batch is
// processed again: at-least-once); a commit without an answer, or one
// whose answer ended the member's generation, is (recordedCommit).
func (m *member) commit(ctx context.Context, offsets map[int32]int64) bool {
	if m.p.cfg.Transactional {
		// The NoTransaction defect's commit: not recorded (the history
		// says it was inside the transaction).
		var ok bool
		eo := map[int32]kgo.EpochOffset{}
		for p, o := range offsets {
			eo[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
		m.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{m.p.cfg.Input: eo},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				ok = err == nil && commitAccepted(resp)
			})
		if ok {
			m.p.noteCommitted(offsets)
		}
		return true
	}
	ok, goOn := m.recordedCommit(ctx, offsets)
	if ok {
		m.p.noteCommitted(offsets)
	}
	return goOn
}

// commitAccepted reports whether every partition of an OffsetCommit
// answer was accepted.
func commitAccepted(resp *kmsg.OffsetCommitResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if kerr.ErrorForCode(p.ErrorCode) != nil {
				return false
			}
		}
	}
	return true
}

// rewind makes the client consume the held partitions from their
// committed offsets again (after an imitated abort).
func (m *member) rewind() bool {
	committed := m.cl.CommittedOffsets()[m.p.cfg.Input]
	set := map[int32]kgo.EpochOffset{}
	for p := range m.owned {
		if o, ok := committed[p]; ok {
			set[p] = o
		}
	}
	m.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{m.p.cfg.Input: set})
	return true
}

// sessionLogger watches a GroupTransactSession's kgo log for two things.
//
// An EndTxn whose outcome kgo could not confirm (it then reports an abort
// that may have been a commit): unconfirmed.
//
// Every revoke and loss of the client's partitions. The session wraps
// OnPartitionsRevoked and OnPartitionsLost so as to abort the transaction
// under way, and once one revoke (or loss) has reached the member's
// callback it passes on none until the next End: franz-go 1.22.2's wrapper
// returns early while its revoked (lost) flag is set, though the client
// does give the partitions up. A member that saw its partitions through
// those callbacks kept a partition the client had revoked (payments seed
// 32006: the member revoked payments/2, then, 11 ms later and before its
// next End, payments/1, which its callback never heard of; its history
// showed it owning payments/1 in the epoch the coordinator gave it to
// another member: a double-assignment). kgo logs every call of each
// callback at debug level, "entering OnPartitionsRevoked" (Lost) "with"
// the partitions, before the session's wrapper runs: that is where the
// member learns them (changed), in the callback's place and order.
type sessionLogger struct {
	unconfirmed *atomic.Bool
	// ready is closed once changed is set (the client is made).
	ready   chan struct{}
	changed func(kind string, ps map[string][]int32)
}

// The entry logs of kgo's callback wrapper (consumer_group.go).
const (
	logRevoked = "entering OnPartitionsRevoked"
	logLost    = "entering OnPartitionsLost"
)

func (*sessionLogger) Level() kgo.LogLevel { return kgo.LogLevelDebug }

func (l *sessionLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch {
	case msg == logRevoked || msg == logLost:
		ps, ok := loggedPartitions(keyvals)
		if !ok {
			// The member could not tell what it holds: a history
			// that may be wrong must not be judged.
			panic(fmt.Sprintf("stream: kgo logged %q without its partitions (%v)", msg, keyvals))
		}
		kind := history.Revoked
		if msg == logLost {
			kind = history.Lost
		}
		<-l.ready
		l.changed(kind, ps)
	case level == kgo.LogLevelInfo && strings.Contains(msg, "unknown server error") && strings.Contains(msg, "end transaction"):
		l.unconfirmed.Store(true)
	}
}

// loggedPartitions returns the partitions of kgo's entry log of a
// partition callback: its "with" value, a map of topics to partitions.
func loggedPartitions(keyvals []any) (map[string][]int32, bool) {
	want := reflect.TypeFor[map[string][]int32]()
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] != "with" {
			continue
		}
		v := reflect.ValueOf(keyvals[i+1])
		if !v.IsValid() || !v.Type().ConvertibleTo(want) {
			return nil, false
		}
		return maps.Clone(v.Convert(want).Interface().(map[string][]int32)), true
	}
	return nil, false
}
