package replica

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/replica/internal/assert"
)

// LeaderConfig is what a Leader needs beyond the assignment.
type LeaderConfig struct {
	// LocalID is this broker's id.
	LocalID int32
	// MinInsync is the topic's min.insync.replicas (at least 1).
	MinInsync int
	// LagTimeMax is replica.lag.time.max.ms: an ISR follower that has not
	// caught up to the leader's log end within it is proposed out of the ISR.
	LagTimeMax time.Duration
	Defects    Defects
}

// AlterPartition is an ISR change the leader proposes; the shell sends it
// to the controller and hands the answer to AlterPartitionDone.
type AlterPartition struct {
	// ID names the proposal in its answer; a later proposal supersedes it.
	ID             uint64
	LeaderID       int32
	LeaderEpoch    int32
	PartitionEpoch int32 // the epoch the ISR below was computed from
	ISR            []int32
}

// AlterPartitionResult is the controller's answer to proposal ID.
type AlterPartitionResult struct {
	ID uint64
	// Err is the Kafka error code; 0 means accepted, with the partition as
	// the controller left it in the fields below.
	Err            int16
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
}

// AckDone completes an acks=all produce: Err 0 is success, else
// NOT_ENOUGH_REPLICAS_AFTER_APPEND or NOT_LEADER_OR_FOLLOWER.
type AckDone struct {
	ID  uint64
	Err int16
}

// Update is what the shell must do after a Leader call.
type Update struct {
	// HighWatermark is the leader's high watermark after the call;
	// Advanced says it moved (wake fetches waiting on it).
	HighWatermark int64
	Advanced      bool
	// Propose, if set, is an AlterPartition to send to the controller.
	Propose *AlterPartition
	// Acks are the acks=all produces this call completed. The slice is
	// the Leader's, valid until its next call: answer them at once.
	Acks []AckDone
}

// followerState is what the leader knows of one follower (Kafka's
// Replica.ReplicaState).
type followerState struct {
	id int32
	// end is the follower's log end as its last fetch offset said: -1
	// until it fetches from this leader epoch. The follower promises the
	// offsets below it are durable.
	end int64
	// lastCaughtUp is when the follower was last at the leader's log end;
	// zero is never.
	lastCaughtUp time.Time
	// lastFetch and lastFetchLeaderEnd are the previous fetch's time and
	// the leader's log end then.
	lastFetch          time.Time
	lastFetchLeaderEnd int64
}

// pendingChange is an AlterPartition in flight.
type pendingChange struct {
	proposal AlterPartition
	// maximal is the ISR the high watermark and acks=all use meanwhile:
	// the larger of the committed ISR and the proposed one, because the
	// change may fail (an expansion is counted at once, which only makes
	// the high watermark stricter; a shrink is not, until accepted).
	maximal []int32
}

// Leader is the replication state machine of one partition this broker
// leads (Kafka's Partition on the leader). It decides the high watermark,
// the ISR changes to propose, and which acks=all produces may complete.
// It does no I/O and reads no clock: the shell passes the local log's
// offsets and the time to every call and carries out the Update each call
// returns. Not safe for concurrent use: the partition's lock guards it.
//
// The time passed in must be steady: a clock's monotonic time as a date
// (env.SteadyClock), never its wall clock. The Leader measures elapsed
// time with it (replica.lag.time.max.ms since a follower last caught up),
// as Kafka does on System.nanoTime: on a wall clock, a step ahead would
// count as lag and shrink the ISR at once, and a step back would keep a
// lagging follower in it for as long as the step.
type Leader struct {
	cfg            LeaderConfig
	leaderEpoch    int32
	partitionEpoch int32
	replicas       []int32 // sorted
	isr            []int32 // sorted; the committed ISR, as the controller has it
	ineligible     []int32
	pending        *pendingChange
	nextID         uint64
	proposal       *AlterPartition // to hand out with the next Update
	// epochStart is the log end when this leader epoch began: a follower
	// joins the ISR only once it has fetched past it.
	epochStart int64
	hw         int64
	followers  []followerState // sorted by id, every replica but this one
	acks       []ackWaiter     // sorted by required offset
	done       []AckDone       // Update.Acks, reused from call to call
	checkedHW  int64           // the high watermark at the last check
}

type ackWaiter struct {
	id       uint64
	required int64
}

// NewLeader makes the local replica leader of a at now. Before calling it
// the shell records the epoch in the leader-epoch cache at the log end
// (epoch.Cache.Assign(a.LeaderEpoch, local.End)).
//
// hw is the high watermark the replica already had, as a follower or as a
// leader before: a value a leader served, never more. A replica that
// restarted without one passes its log start (or a checkpointed high
// watermark): its log end after recovery may hold records that were never
// committed.
func NewLeader(cfg LeaderConfig, a Assignment, local Local, hw int64, now time.Time) (*Leader, Update, error) {
	if a.Leader != cfg.LocalID {
		return nil, Update{}, ErrNotLeader
	}
	if err := a.validate(cfg.LocalID); err != nil {
		return nil, Update{}, err
	}
	if !slices.Contains(a.ISR, cfg.LocalID) {
		return nil, Update{}, fmt.Errorf("replica: leader %d is not in its ISR %v", cfg.LocalID, a.ISR)
	}
	if cfg.MinInsync < 1 || cfg.LagTimeMax <= 0 {
		return nil, Update{}, fmt.Errorf("replica: min.insync.replicas %d and replica.lag.time.max %v must be positive", cfg.MinInsync, cfg.LagTimeMax)
	}
	l := &Leader{cfg: cfg, hw: max(0, min(hw, local.End))}
	l.start(a, local, now)
	return l, l.update(local, now), nil
}

// start resets the leader for a new leader epoch: every follower's position
// is unknown until it fetches in this epoch (Kafka's resetReplicaState for
// a new leader), and ISR followers count as caught up now.
func (l *Leader) start(a Assignment, local Local, now time.Time) {
	l.leaderEpoch, l.partitionEpoch = a.LeaderEpoch, a.PartitionEpoch
	l.replicas, l.isr, l.ineligible = sortedIDs(a.Replicas), sortedIDs(a.ISR), sortedIDs(a.Ineligible)
	l.pending, l.proposal = nil, nil
	l.epochStart = local.End
	l.followers = l.followers[:0]
	for _, id := range l.replicas {
		if id == l.cfg.LocalID {
			continue
		}
		f := followerState{id: id, end: -1, lastFetchLeaderEnd: -1}
		if slices.Contains(l.isr, id) {
			f.lastCaughtUp = now
		}
		l.followers = append(l.followers, f)
	}
}

// UpdateAssignment applies a metadata image change while this broker
// leads. A stale assignment (older partition or leader epoch) is ignored,
// as Kafka does. A new leader epoch (this broker re-elected) restarts the
// leader as NewLeader does, keeping the high watermark; the shell records
// the epoch in the epoch cache first. A newer partition epoch replaces the
// committed ISR and replicas, and an AlterPartition in flight is forgotten
// (the controller refuses it, computed from an older epoch, unless the new
// state is its own acceptance); its answer will be ignored. The same
// partition epoch changes only the ineligible replicas and keeps a change
// in flight: unlike Kafka's makeLeader, which resets it, because the
// state may be one the leader already learnt from an AlterPartition answer.
// ErrNotLeader means a names another leader: call Resign.
func (l *Leader) UpdateAssignment(a Assignment, local Local, now time.Time) (Update, error) {
	if a.Leader != l.cfg.LocalID {
		return Update{HighWatermark: l.hw}, ErrNotLeader
	}
	if err := a.validate(l.cfg.LocalID); err != nil {
		return Update{HighWatermark: l.hw}, err
	}
	if a.LeaderEpoch < l.leaderEpoch || a.PartitionEpoch < l.partitionEpoch {
		return Update{HighWatermark: l.hw}, nil
	}
	if !slices.Contains(a.ISR, l.cfg.LocalID) {
		return Update{HighWatermark: l.hw}, fmt.Errorf("replica: leader %d is not in its ISR %v", l.cfg.LocalID, a.ISR)
	}
	if a.LeaderEpoch > l.leaderEpoch {
		l.start(a, local, now)
		return l.update(local, now), nil
	}
	l.ineligible = sortedIDs(a.Ineligible)
	if a.PartitionEpoch == l.partitionEpoch {
		// A state the leader already has: it may have learnt it from its
		// own AlterPartition answer before the metadata record arrived, and
		// proposed again since. Dropping that proposal here would let the
		// high watermark pass a replica the controller is about to add to
		// the ISR (the answer would then be ignored).
		return l.update(local, now), nil
	}
	l.partitionEpoch = a.PartitionEpoch
	l.replicas, l.isr, l.ineligible = sortedIDs(a.Replicas), sortedIDs(a.ISR), sortedIDs(a.Ineligible)
	l.pending, l.proposal = nil, nil
	kept := l.followers[:0:0]
	for _, id := range l.replicas {
		if id == l.cfg.LocalID {
			continue
		}
		if f := l.follower(id); f != nil {
			kept = append(kept, *f)
		} else {
			kept = append(kept, followerState{id: id, end: -1, lastFetchLeaderEnd: -1})
		}
	}
	l.followers = kept
	return l.update(local, now), nil
}

// SetMinInsync applies a new min.insync.replicas (the topic's config
// changed): the acks=all check, the answers to waiting produces and the
// high watermark's KIP-966 gate use it from this call on. n below 1 counts
// as 1.
func (l *Leader) SetMinInsync(n int, local Local, now time.Time) Update {
	l.cfg.MinInsync = max(n, 1)
	return l.update(local, now)
}

// MinInsync is the min.insync.replicas the leader applies.
func (l *Leader) MinInsync() int { return l.cfg.MinInsync }

// CheckLeaderEpoch answers the leader-epoch check of a client's request
// (Fetch, ListOffsets, OffsetForLeaderEpoch): see the package function.
func (l *Leader) CheckLeaderEpoch(requested int32) int16 {
	return CheckLeaderEpoch(l.leaderEpoch, requested)
}

// CheckFetch checks a follower's fetch before it is read: the leader epoch
// it names, and that it comes from a replica of the partition. 0 means go
// on: check divergence (CheckDiverging), read the log up to its end, then
// call RecordFetch.
func (l *Leader) CheckFetch(replicaID, currentLeaderEpoch int32) int16 {
	if code := CheckLeaderEpoch(l.leaderEpoch, currentLeaderEpoch); code != 0 {
		return code
	}
	if replicaID == l.cfg.LocalID || !slices.Contains(l.replicas, replicaID) {
		// As Kafka: with an epoch the (replica, epoch) pair is not known
		// yet (a reassignment), so the follower retries; without one,
		// nobody can tell which side is stale.
		if currentLeaderEpoch >= 0 {
			return kerr.UnknownLeaderEpoch.Code
		}
		return kerr.NotLeaderForPartition.Code
	}
	return 0
}

// RecordFetch records a follower's fetch that was answered with records
// (not with an error or a diverging epoch): the follower's log ends at
// fetchOffset, durably, and leaderEnd was the leader's log end when the
// fetch was read. It may move the high watermark, propose adding the
// follower to the ISR, and complete acks.
func (l *Leader) RecordFetch(replicaID int32, fetchOffset, leaderEnd int64, local Local, now time.Time) Update {
	f := l.follower(replicaID)
	if f == nil {
		return l.update(local, now)
	}
	// Kafka's Replica.updateFetchStateOrThrow: a fetch at the leader's end
	// means caught up now; a fetch at least at the leader's end of the
	// previous fetch means caught up as of that previous fetch.
	switch {
	case fetchOffset >= leaderEnd:
		f.lastCaughtUp = laterOf(f.lastCaughtUp, now)
	case fetchOffset >= f.lastFetchLeaderEnd && f.lastFetchLeaderEnd >= 0:
		f.lastCaughtUp = laterOf(f.lastCaughtUp, f.lastFetch)
	}
	f.end = fetchOffset
	f.lastFetchLeaderEnd = max(leaderEnd, f.lastFetchLeaderEnd)
	f.lastFetch = now
	l.maybeExpand(f)
	return l.update(local, now)
}

// LocalAppended is called after the leader's log grew or became more
// durable (an append, an fsync): the high watermark may move.
func (l *Leader) LocalAppended(local Local, now time.Time) Update {
	return l.update(local, now)
}

// Tick is called periodically (Kafka: every replica.lag.time.max.ms / 2):
// followers in the ISR that have not caught up within LagTimeMax are
// proposed out of it.
func (l *Leader) Tick(local Local, now time.Time) Update {
	l.maybeShrink(local, now)
	return l.update(local, now)
}

// AlterPartitionDone hands the controller's answer to a proposal. An answer
// to a proposal that is no longer in flight is ignored. Accepted: the ISR
// and partition epoch it carries become the committed state, unless it
// names another leader epoch or an older partition epoch (then the change
// stays pending until the metadata image settles it). Refused with
// OPERATION_NOT_ATTEMPTED or INELIGIBLE_REPLICA: the controller says the
// change was not applied, so the leader goes back to its committed ISR and
// may propose again. Refused because the leader's view is stale (fenced
// epoch, invalid version, unknown partition, new leader elected...): stay
// pending until the image moves. Any other error: the same proposal is
// handed out again to retry.
func (l *Leader) AlterPartitionDone(res AlterPartitionResult, local Local, now time.Time) Update {
	if l.pending == nil || res.ID != l.pending.proposal.ID {
		return l.update(local, now)
	}
	if res.Err != 0 {
		switch res.Err {
		case kerr.OperationNotAttempted.Code, kerr.IneligibleReplica.Code:
			l.pending = nil
		case kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicID.Code, kerr.FencedLeaderEpoch.Code,
			kerr.InvalidUpdateVersion.Code, kerr.InvalidRequest.Code, kerr.NewLeaderElected.Code:
		default:
			retry := l.pending.proposal
			retry.ISR = slices.Clone(retry.ISR)
			l.proposal = &retry
		}
		return l.update(local, now)
	}
	fenced := res.LeaderEpoch != l.leaderEpoch || res.PartitionEpoch < l.partitionEpoch
	if (fenced && !l.cfg.Defects.UnfencedShrink) || !slices.Contains(res.ISR, l.cfg.LocalID) {
		return l.update(local, now)
	}
	l.isr = sortedIDs(res.ISR)
	l.partitionEpoch = res.PartitionEpoch
	l.pending = nil
	return l.update(local, now)
}

// CheckProduce is the check before an append: an acks=all produce to a
// partition whose ISR is below min.insync.replicas is refused with
// NOT_ENOUGH_REPLICAS and nothing is appended.
func (l *Leader) CheckProduce(acks int16) int16 {
	if acks == -1 && len(l.isr) < l.effectiveMinISR() {
		return kerr.NotEnoughReplicas.Code
	}
	return 0
}

// WaitAck registers an acks=all produce whose batch ends at required (the
// offset after it): done now if the high watermark is already there (then
// code is its answer), else an Update later lists it in Acks. The shell
// cancels it on timeout with CancelAck.
func (l *Leader) WaitAck(id uint64, required int64) (done bool, code int16) {
	if required <= l.hw {
		return true, l.ackCode()
	}
	i, _ := slices.BinarySearchFunc(l.acks, required, func(w ackWaiter, r int64) int {
		if w.required <= r {
			return -1
		}
		return 1
	})
	l.acks = slices.Insert(l.acks, i, ackWaiter{id: id, required: required})
	return false, 0
}

// CancelAck forgets a waiting produce (its request timed out); false if it
// was not waiting.
func (l *Leader) CancelAck(id uint64) bool {
	for i, w := range l.acks {
		if w.id == id {
			l.acks = slices.Delete(l.acks, i, i+1)
			return true
		}
	}
	return false
}

// Resign ends the leadership: every waiting produce is answered
// NOT_LEADER_OR_FOLLOWER (its record may or may not survive, and the
// client retries against the new leader). The Leader must not be used
// again.
func (l *Leader) Resign() []AckDone {
	out := make([]AckDone, len(l.acks))
	for i, w := range l.acks {
		out[i] = AckDone{ID: w.id, Err: kerr.NotLeaderForPartition.Code}
	}
	l.acks = nil
	return out
}

// HighWatermark is the offset below which records are committed.
func (l *Leader) HighWatermark() int64 { return l.hw }

// LeaderEpoch and PartitionEpoch are the epochs the leader acts in.
func (l *Leader) LeaderEpoch() int32    { return l.leaderEpoch }
func (l *Leader) PartitionEpoch() int32 { return l.partitionEpoch }

// EpochStart is the log end when this leader epoch began. While the high
// watermark is below it (the new leader has not yet heard from its ISR),
// Kafka answers ListOffsets for the latest offset with
// OFFSET_NOT_AVAILABLE rather than a high watermark older than what the
// previous leader may have served.
func (l *Leader) EpochStart() int64 { return l.epochStart }

// ISR is the committed ISR; MaximalISR adds a pending expansion.
func (l *Leader) ISR() []int32 { return slices.Clone(l.isr) }
func (l *Leader) MaximalISR() []int32 {
	return slices.Clone(l.maximalISR())
}

// InMaximalISR reports whether id is in MaximalISR, without copying it.
func (l *Leader) InMaximalISR(id int32) bool {
	return slices.Contains(l.maximalISR(), id)
}

// Pending returns the AlterPartition in flight, if any.
func (l *Leader) Pending() (AlterPartition, bool) {
	if l.pending == nil {
		return AlterPartition{}, false
	}
	p := l.pending.proposal
	p.ISR = slices.Clone(p.ISR)
	return p, true
}

// FollowerEnd is the log end follower id last reported, -1 if unknown.
func (l *Leader) FollowerEnd(id int32) int64 {
	if f := l.follower(id); f != nil {
		return f.end
	}
	return -1
}

// FollowerCatchingUp reports a follower outside the maximal ISR that
// fetched from this leader within LagTimeMax: one catching up, perhaps
// copying the log again from its start after the leader's cleaner removed
// tombstones past its end (Follower's recopy). While one is, the shell's
// cleaner removes no tombstone: each removal moves the leader's tombstone
// mark on, and a follower below the mark that sees it move must restart
// its copy, which would never end on a log whose tombstones expire faster
// than it is copied. A follower that stops fetching no longer holds them.
func (l *Leader) FollowerCatchingUp(now time.Time) bool {
	for i := range l.followers {
		f := &l.followers[i]
		if !slices.Contains(l.maximalISR(), f.id) && !f.lastFetch.IsZero() && now.Sub(f.lastFetch) <= l.cfg.LagTimeMax {
			return true
		}
	}
	return false
}

// UnderMinISR reports a committed ISR smaller than min.insync.replicas
// (capped at the replica count): acks=all is refused and, as in Kafka 4
// (KIP-966), the high watermark does not advance.
func (l *Leader) UnderMinISR() bool { return len(l.isr) < l.effectiveMinISR() }

func (l *Leader) follower(id int32) *followerState {
	for i := range l.followers {
		if l.followers[i].id == id {
			return &l.followers[i]
		}
	}
	return nil
}

func (l *Leader) effectiveMinISR() int { return min(l.cfg.MinInsync, len(l.replicas)) }

func (l *Leader) maximalISR() []int32 {
	if l.pending != nil {
		return l.pending.maximal
	}
	return l.isr
}

func (l *Leader) eligible(id int32) bool { return !slices.Contains(l.ineligible, id) }

// caughtUp is Kafka's ReplicaState.isCaughtUp: at the leader's end, or
// there within LagTimeMax.
func (l *Leader) caughtUp(f *followerState, leaderEnd int64, now time.Time) bool {
	return f.end == leaderEnd || (!f.lastCaughtUp.IsZero() && now.Sub(f.lastCaughtUp) <= l.cfg.LagTimeMax)
}

// maybeExpand proposes adding f to the ISR once it has reached the high
// watermark within this leader epoch: an offset before the epoch's start
// could be on a divergent suffix the follower has yet to truncate, and a
// follower in the ISR without the committed records could be elected and
// lose them.
func (l *Leader) maybeExpand(f *followerState) {
	if l.pending != nil || slices.Contains(l.isr, f.id) || !l.eligible(f.id) {
		return
	}
	if f.end >= l.hw && f.end >= l.epochStart {
		l.propose(append(slices.Clone(l.isr), f.id), false)
	}
}

// maybeShrink proposes removing the ISR followers that are not caught up.
func (l *Leader) maybeShrink(local Local, now time.Time) {
	if l.pending != nil {
		return
	}
	var out []int32
	for i := range l.followers {
		f := &l.followers[i]
		if slices.Contains(l.isr, f.id) && !l.caughtUp(f, local.End, now) {
			out = append(out, f.id)
		}
	}
	if len(out) > 0 {
		l.propose(without(l.isr, out), true)
	}
}

func (l *Leader) propose(isr []int32, shrink bool) {
	l.nextID++
	p := AlterPartition{ID: l.nextID, LeaderID: l.cfg.LocalID, LeaderEpoch: l.leaderEpoch, PartitionEpoch: l.partitionEpoch, ISR: sortedIDs(isr)}
	maximal := sortedIDs(append(slices.Clone(l.isr), p.ISR...))
	if shrink && l.cfg.Defects.UnfencedShrink {
		l.isr, maximal = p.ISR, p.ISR
	}
	l.pending = &pendingChange{proposal: p, maximal: maximal}
	out := p
	out.ISR = slices.Clone(p.ISR)
	l.proposal = &out
}

// update moves the high watermark, completes acks and hands out a proposal.
func (l *Leader) update(local Local, now time.Time) Update {
	u := Update{Advanced: l.maybeAdvanceHW(local, now)}
	u.HighWatermark = l.hw
	u.Acks = l.completeAcks()
	u.Propose, l.proposal = l.proposal, nil
	l.check(local)
	return u
}

// maybeAdvanceHW is Kafka's maybeIncrementLeaderHW, with durability: the
// new high watermark is the smallest of the leader's durable offset and
// the log ends of the followers in the maximal ISR, and of followers
// caught up and eligible to join it (so one about to join is not left
// behind forever). Nothing moves while the committed ISR is below
// min.insync.replicas (KIP-966), and it never moves back.
func (l *Leader) maybeAdvanceHW(local Local, now time.Time) bool {
	if l.cfg.Defects.HighWatermarkAtLeaderEnd {
		return l.raiseHW(local.End)
	}
	if l.UnderMinISR() {
		return false
	}
	// The leader's own part counts once durable: a leader that crashes
	// keeps only its synced records, and may still be elected again.
	hw := local.Durable
	maximal := l.maximalISR()
	for i := range l.followers {
		f := &l.followers[i]
		if f.end < hw && (slices.Contains(maximal, f.id) || (l.caughtUp(f, local.End, now) && l.eligible(f.id))) {
			hw = f.end
		}
	}
	return l.raiseHW(hw)
}

func (l *Leader) raiseHW(hw int64) bool {
	if hw <= l.hw {
		return false
	}
	l.hw = hw
	return true
}

// completeAcks answers the waiting produces the high watermark has passed.
func (l *Leader) completeAcks() []AckDone {
	n := 0
	for n < len(l.acks) && l.acks[n].required <= l.hw {
		n++
	}
	if n == 0 {
		return nil
	}
	code := l.ackCode()
	l.done = l.done[:0]
	for _, w := range l.acks[:n] {
		l.done = append(l.done, AckDone{ID: w.id, Err: code})
	}
	l.acks = slices.Delete(l.acks, 0, n)
	return l.done
}

// ackCode is Kafka's checkEnoughReplicasReachOffset once the high
// watermark passed the offset: the record is committed, but if the
// maximal ISR is now below min.insync.replicas the producer is told
// NOT_ENOUGH_REPLICAS_AFTER_APPEND.
func (l *Leader) ackCode() int16 {
	if len(l.maximalISR()) < l.effectiveMinISR() {
		return kerr.NotEnoughReplicasAfterAppend.Code
	}
	return 0
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// check asserts the leader's invariants (`invariants` build tag).
func (l *Leader) check(local Local) {
	if !assert.Enabled {
		return
	}
	// Every fetch and append runs this: arguments are boxed only on a
	// failure (assert.Failf).
	if l.hw > local.End {
		assert.Failf("leader high watermark %d past its log end %d", l.hw, local.End)
	}
	if l.hw < l.checkedHW {
		assert.Failf("leader high watermark went back from %d to %d", l.checkedHW, l.hw)
	}
	l.checkedHW = l.hw
	if !slices.Contains(l.isr, l.cfg.LocalID) {
		assert.Failf("leader %d not in its ISR %v", l.cfg.LocalID, l.isr)
	}
	if !l.cfg.Defects.UnfencedShrink {
		for _, id := range l.isr {
			if !slices.Contains(l.maximalISR(), id) {
				assert.Failf("maximal ISR %v lacks committed member %d", l.maximalISR(), id)
			}
		}
	}
	if !slices.IsSortedFunc(l.acks, func(a, b ackWaiter) int { return cmp.Compare(a.required, b.required) }) {
		assert.Failf("acks out of order")
	}
}
