package partition

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/epoch"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/internal/invariants"
)

// Replication: the partition's side of broker/replica's state machines, as
// docs/ARCHITECTURE.md ("Replication (broker/replica): how the broker uses
// it") describes it.
//
// Each local replica has one role, set by the reconciler from every image
// (SetRole): leader (a replica.Leader decides the high watermark, the ISR
// changes to propose and the acks=all produces to answer), follower
// (registered with the fetcher.Manager, which appends the leader's batches
// through replicaLog), or neither (no leader, or this broker is not active:
// it leads and follows nothing until the controller has seen this
// incarnation). The leader's state machine is guarded by the partition's
// mu; every call hands back a replica.Update that applyLocked carries out
// under the same lock: the high watermark, the acks, an AlterPartition for
// the broker's sender (Deps.Alters). The fetcher is only ever called
// without mu held (it calls into the partition with its own lock held, so
// the other order would deadlock), and is stopped before the partition
// leads: no follower write can land in a leader's log.

// replicaState is one partition's replication. The fields under "mu" are
// guarded by the partition's mu; followed is the reconciler's.
type replicaState struct {
	// epochs is the leader-epoch cache (leader-epoch-checkpoint). Safe
	// for concurrent use; it changes with the log under mu.
	epochs *epoch.Cache
	// failed is closed when the partition's storage fails (Fail).
	failed chan struct{}

	// mu: leader is the state machine while this broker leads; acks are
	// the acks=all produces waiting for it, by the id given to WaitAck.
	leader  *replica.Leader
	acks    map[uint64]chan int16
	nextAck uint64
	// assigned is the assignment of the last metadata image the leader
	// was given (checkLeaderISR compares its ISR with the leader's).
	assigned replica.Assignment

	// tp names the partition to the fetchers and the controller; log is
	// what the fetchers write. Both are set at open and never change.
	tp  fetcher.TopicPartition
	log *replicaLog
	// followed: registered with the fetchers. Only the reconciler's
	// goroutine (SetRole, StopReplicating) reads and writes it and calls
	// the fetchers, without mu.
	followed bool

	// growth is closed and replaced when the leader's log grows, it stops
	// leading, or it fails, so that a follower's fetch that found nothing
	// answers as soon as there is something (a waiting acks=all produce
	// needs that fetch). growthWatched says someone waits on it, so an
	// append nobody waits for costs no channel.
	growthMu      sync.Mutex
	growth        chan struct{}
	growthWatched atomic.Bool
}

// open opens the partition's leader-epoch cache, after its log.
func (r *replicaState) open(p *Partition, topicID [16]byte) error {
	cache, rec, err := epoch.Open(p.fs, p.dir, p.log)
	if err != nil {
		return fmt.Errorf("leader epochs: %w", err)
	}
	if rec.Rebuilt && p.log.EndOffset() > p.log.StartOffset() {
		p.logger.Warn("leader-epoch-checkpoint rebuilt from the log", "topic", p.topic, "partition", p.index, "reason", rec.Reason)
	}
	r.epochs = cache
	r.failed = make(chan struct{})
	r.growth = make(chan struct{})
	r.log = &replicaLog{p: p}
	r.tp = fetcher.TopicPartition{Topic: p.topic, TopicID: topicID, Partition: p.index}
	return nil
}

// Role is what one metadata image says of this replica.
type Role struct {
	// Active: this incarnation is registered and unfenced; otherwise it
	// neither leads nor follows (the reconciler's kind given to SetRole
	// already says so: this is what it was decided from).
	Active     bool
	Assignment replica.Assignment
	// LeaderAddr is the leader's broker listener ("" when unknown).
	LeaderAddr string
	MinInsync  int
}

// SetRole makes the replica lead, follow or do neither, as the
// reconciler's plan says (kind; r has what leading or following needs). A
// replica whose disk failed does neither. Only the reconciler calls it.
func (p *Partition) SetRole(kind reconcile.Role, r Role) {
	switch {
	case p.failure.Load() != nil:
		p.StopReplicating()
	case kind == reconcile.Lead:
		p.lead(r)
	case kind == reconcile.Follow:
		p.follow(r)
	default:
		// Not active, or no leader to follow: keep the log as it is
		// until one is elected.
		p.StopReplicating()
	}
}

// lead makes this replica the leader of r, or applies r to the Leader it
// already has.
func (p *Partition) lead(r Role) {
	hw := p.hw.Load()
	if p.rep.followed {
		// The fetcher makes no call on the partition once Stop returns.
		if fhw, ok := p.fetchers.Stop(p.rep.tp); ok {
			hw = fhw
		}
		p.rep.followed = false
	}
	now := p.replicaTime.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rep.assigned = r.Assignment
	if l := p.rep.leader; l != nil {
		if r.Assignment.LeaderEpoch > l.LeaderEpoch() {
			// Re-elected (an image in between had another leader or none):
			// the new epoch starts at the log end.
			if err := p.rep.epochs.Assign(r.Assignment.LeaderEpoch, p.log.EndOffset()); err != nil {
				p.Fail(err)
				return
			}
			p.leaderEpoch.Store(r.Assignment.LeaderEpoch)
		}
		if r.MinInsync != l.MinInsync() {
			p.applyLocked(l.SetMinInsync(r.MinInsync, p.local(), now))
		}
		u, err := l.UpdateAssignment(r.Assignment, p.local(), now)
		if err != nil {
			p.logger.Warn("leader refused an assignment", "topic", p.topic, "partition", p.index, "err", err)
		}
		p.applyLocked(u)
		return
	}
	// Kafka's makeLeader: the new epoch starts at the log end, recorded
	// before anything is appended in it.
	if err := p.rep.epochs.Assign(r.Assignment.LeaderEpoch, p.log.EndOffset()); err != nil {
		p.Fail(err)
		return
	}
	cfg := replica.LeaderConfig{
		LocalID: p.cfg.NodeID, MinInsync: r.MinInsync,
		LagTimeMax: p.cfg.ReplicaLagTimeMax, Defects: p.cfg.Defects.Replica,
	}
	l, u, err := replica.NewLeader(cfg, r.Assignment, p.local(), hw, now)
	if err != nil {
		p.logger.Warn("cannot lead", "topic", p.topic, "partition", p.index, "err", err)
		return
	}
	p.rep.leader = l
	p.leaderEpoch.Store(r.Assignment.LeaderEpoch)
	p.leading.Store(true)
	p.applyLocked(u)
	if p.log.SyncedOffset() < p.log.EndOffset() {
		// What it appended as a follower counts once synced.
		p.requestSync()
	}
	p.logger.Debug("leading", "topic", p.topic, "partition", p.index, "leader_epoch", r.Assignment.LeaderEpoch, "isr", r.Assignment.ISR, "high_watermark", l.HighWatermark(), "log_end", p.log.EndOffset())
}

// follow makes this replica follow r's leader, or hands the fetcher r's
// newer assignment.
func (p *Partition) follow(r Role) {
	p.mu.Lock()
	p.resignLocked()
	p.leaderEpoch.Store(r.Assignment.LeaderEpoch)
	p.mu.Unlock()
	if p.fetchers == nil {
		p.logger.Warn("cannot follow: no replica fetchers", "topic", p.topic, "partition", p.index, "leader", r.Assignment.Leader)
		return
	}
	err := p.fetchers.Follow(p.rep.tp, fetcher.Broker{ID: r.Assignment.Leader, Addr: r.LeaderAddr}, r.Assignment, p.hw.Load(), p.rep.log)
	if err != nil {
		p.logger.Warn("cannot follow", "topic", p.topic, "partition", p.index, "leader", r.Assignment.Leader, "err", err)
		return
	}
	if !p.rep.followed {
		p.logger.Debug("following", "topic", p.topic, "partition", p.index, "leader", r.Assignment.Leader, "leader_epoch", r.Assignment.LeaderEpoch, "log_end", p.log.EndOffset())
	}
	p.rep.followed = true
}

// StopReplicating leaves the replica neither leading nor following: before
// it is removed (before Delete), or while there is no leader or this broker
// is not active. Only the reconciler calls it.
func (p *Partition) StopReplicating() {
	if p.rep.followed {
		p.fetchers.Stop(p.rep.tp)
		p.rep.followed = false
	}
	p.mu.Lock()
	p.resignLocked()
	p.mu.Unlock()
}

// resignLocked ends this broker's leadership, if it has one: waiting
// acks=all produces are answered NOT_LEADER_OR_FOLLOWER, follower fetches
// waiting here answer now. The high watermark stays what the leader made
// it. Call with mu held.
func (p *Partition) resignLocked() {
	l := p.rep.leader
	if l == nil {
		return
	}
	for _, a := range l.Resign() {
		p.deliverAckLocked(a)
	}
	p.rep.leader = nil
	p.leading.Store(false)
	p.wakeGrowth()
	p.logger.Debug("resigned leadership", "topic", p.topic, "partition", p.index, "leader_epoch", l.LeaderEpoch(), "high_watermark", l.HighWatermark())
}

// local is the replica's log as the state machines see it.
func (p *Partition) local() replica.Local {
	end := p.log.EndOffset()
	if !p.cfg.FsyncAcksAll || p.cfg.Defects.EarlyHighWatermark { // the defect: unsynced counts as durable
		return replica.Local{End: end, Durable: end}
	}
	return replica.Local{End: end, Durable: min(p.log.SyncedOffset(), end)}
}

// applyLocked carries out an Update of the Leader: the high watermark,
// the acks=all produces it completed, the ISR change it proposes. Call
// with mu held.
func (p *Partition) applyLocked(u replica.Update) {
	if invariants.Enabled {
		p.checkLeaderISR()
	}
	p.advanceHW(u.HighWatermark)
	for _, a := range u.Acks {
		p.deliverAckLocked(a)
	}
	if u.Propose != nil && p.alters != nil {
		p.alters.Propose(p, p.rep.leader, *u.Propose)
	}
}

// appendedLocked follows a leader's append: the high watermark may move
// (without fsync-on-ack, or with a single replica that is already
// durable), and follower fetches waiting for records read them. Call with
// mu held.
func (p *Partition) appendedLocked() {
	if l := p.rep.leader; l != nil {
		p.applyLocked(l.LocalAppended(p.local(), p.replicaTime.Now()))
	}
	p.wakeGrowth()
}

// synced follows an fsync of the syncer: the leader's own part of the high
// watermark moved.
func (p *Partition) synced() {
	if !p.cfg.FsyncAcksAll {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.rep.leader; l != nil {
		p.applyLocked(l.LocalAppended(p.local(), p.replicaTime.Now()))
	}
}

// AlterPartitionDone hands the controller's answer to an ISR change back,
// at now, to the Leader l that proposed it (AlterProposer), unless the
// partition has another Leader since.
func (p *Partition) AlterPartitionDone(l *replica.Leader, res replica.AlterPartitionResult, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rep.leader == l {
		p.applyLocked(l.AlterPartitionDone(res, p.local(), now))
	}
}

// Tick is the leader's periodic ISR check (replica.lag.time.max.ms / 2).
func (p *Partition) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.rep.leader; l != nil {
		p.applyLocked(l.Tick(p.local(), p.replicaTime.Now()))
	}
}

// setHW sets a follower's high watermark to what its leader said (it only
// goes back after an unclean election cut the log below it) and wakes
// those waiting on it.
func (p *Partition) setHW(hw int64) {
	p.hwMu.Lock()
	defer p.hwMu.Unlock()
	if hw == p.hw.Load() {
		return
	}
	p.hw.Store(hw)
	close(p.hwChanged)
	p.hwChanged = make(chan struct{})
	p.watched.Store(false)
}

// WatchGrowth returns a channel closed when the leader's log grows, it
// stops leading, or it fails: what a follower's fetch waits for.
func (p *Partition) WatchGrowth() <-chan struct{} {
	p.rep.growthMu.Lock()
	defer p.rep.growthMu.Unlock()
	p.rep.growthWatched.Store(true)
	return p.rep.growth
}

func (p *Partition) wakeGrowth() {
	if !p.rep.growthWatched.Load() {
		return
	}
	p.rep.growthMu.Lock()
	defer p.rep.growthMu.Unlock()
	p.rep.growthWatched.Store(false)
	close(p.rep.growth)
	p.rep.growth = make(chan struct{})
}

// CheckProduce is the check before an append for acks: an acks=all produce
// to a leader whose ISR is below min.insync.replicas is refused
// (NOT_ENOUGH_REPLICAS), and nothing is appended. It returns the error
// and its message, or nil.
func (p *Partition) CheckProduce(acks int16) (*kerr.Error, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.rep.leader
	if l == nil {
		return kerr.NotLeaderForPartition, NotLeaderMessage
	}
	if code := l.CheckProduce(acks); code != 0 {
		return kerr.ErrorForCode(code).(*kerr.Error), fmt.Sprintf("min.insync.replicas=%d but the ISR has %d replicas %v", l.MinInsync(), len(l.ISR()), l.ISR())
	}
	return nil, ""
}

// AckWait is an acks=all produce waiting for its batch to be committed.
// Only the connection's writer goroutine uses it.
type AckWait struct {
	id   uint64
	ch   chan int16 // the answer; buffered, written once
	code int16
	got  bool
}

// AwaitAck registers an acks=all produce whose batch, appended in
// leaderEpoch, ends at end. It returns the answer at once when the high
// watermark is already there (a single durable replica, or no fsync), or
// when this broker no longer leads in that epoch; else a wait that an
// Update of the Leader completes (AckResult).
func (p *Partition) AwaitAck(leaderEpoch int32, end int64) (*AckWait, int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.rep.leader
	if l == nil || l.LeaderEpoch() != leaderEpoch {
		// Another leader may have cut the batch: the producer retries it.
		return nil, kerr.NotLeaderForPartition.Code
	}
	p.rep.nextAck++
	id := p.rep.nextAck
	if done, code := l.WaitAck(id, end); done {
		return nil, code
	}
	if p.rep.acks == nil {
		p.rep.acks = map[uint64]chan int16{}
	}
	w := &AckWait{id: id, ch: make(chan int16, 1)}
	p.rep.acks[id] = w.ch
	return w, 0
}

// deliverAckLocked answers a waiting acks=all produce. Call with mu held.
func (p *Partition) deliverAckLocked(a replica.AckDone) {
	if ch, ok := p.rep.acks[a.ID]; ok {
		delete(p.rep.acks, a.ID)
		ch <- a.Err
	}
}

// done reports w's answer if it has one, without waiting.
func (w *AckWait) Done() (int16, bool) {
	if !w.got {
		select {
		case w.code = <-w.ch:
			w.got = true
		default:
		}
	}
	return w.code, w.got
}

// AckResult waits for w's answer, until done is closed (the request timed
// out: REQUEST_TIMED_OUT) or the partition fails (KAFKA_STORAGE_ERROR).
func (p *Partition) AckResult(done <-chan struct{}, w *AckWait) int16 {
	if code, ok := w.Done(); ok {
		return code
	}
	select {
	case code := <-w.ch:
		return code
	case <-p.rep.failed:
	case <-done:
	}
	p.mu.Lock()
	if l := p.rep.leader; l != nil {
		l.CancelAck(w.id)
	}
	delete(p.rep.acks, w.id)
	p.mu.Unlock()
	select {
	case code := <-w.ch: // answered meanwhile
		return code
	default:
	}
	if p.failure.Load() != nil {
		return kerr.KafkaStorageError.Code
	}
	return kerr.RequestTimedOut.Code
}

// EpochStartPending reports a leader that has not yet heard from its ISR
// in its new epoch (its high watermark is below where the epoch started):
// Kafka answers ListOffsets OFFSET_NOT_AVAILABLE meanwhile rather than a
// high watermark older than one the previous leader may have served.
func (p *Partition) EpochStartPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.rep.leader
	return l != nil && l.HighWatermark() < l.EpochStart()
}

// AnswerEpochEnd answers one partition of OffsetForLeaderEpoch: where the
// requested epoch ends in this log, on the leader only.
func (p *Partition) AnswerEpochEnd(currentLeaderEpoch, requested int32) (code int16, leaderEpoch int32, endOffset int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return replica.AnswerEpochEnd(p.rep.epochs, p.rep.leader != nil, p.leaderEpoch.Load(), currentLeaderEpoch, requested, p.log.EndOffset())
}

// LatestEpoch is the newest leader epoch of the leader-epoch cache.
func (p *Partition) LatestEpoch() int32 { return p.rep.epochs.LatestEpoch() }

// ISR is the committed ISR the leader acts on (nil when not leading).
func (p *Partition) ISR() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.rep.leader; l != nil {
		return l.ISR()
	}
	return nil
}
