package replica

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/replica/epoch"
	"github.com/weir-dev/weir/broker/replica/internal/assert"
)

// LocalLog is the follower's own replica as the Follower reads it: its log
// and its leader-epoch cache. The broker's partition implements it.
type LocalLog interface {
	StartOffset() int64
	EndOffset() int64
	// DurableOffset: offsets below it survive a crash (the log's synced
	// offset with fsync-on-ack, EndOffset without).
	DurableOffset() int64
	// LatestEpoch is the newest leader epoch in the epoch cache, or
	// epoch.Undefined.
	LatestEpoch() int32
	// EndOffsetForEpoch is the epoch cache's EndOffsetFor(epoch, EndOffset()).
	EndOffsetForEpoch(epoch int32) (int32, int64)
}

// FollowerConfig is what a Follower needs beyond the assignment.
type FollowerConfig struct {
	// LocalID is this broker's id.
	LocalID int32
	// TruncateOnFetch: find divergence through Fetch's last fetched epoch
	// (KIP-320; Kafka 2.7+ does, saving a round trip): the follower fetches
	// at once and truncates when the leader answers with a diverging epoch.
	// Off: ask OffsetForLeaderEpoch before the first fetch of each leader
	// epoch (KIP-101, KIP-279). Both are always correct; a follower whose
	// log has no epochs at all asks nothing and truncates to its high
	// watermark (Kafka's fallback for logs from before leader epochs).
	TruncateOnFetch bool
	Defects         Defects
}

// FollowerState is where a Follower is in its cycle.
type FollowerState uint8

const (
	// Truncating: the follower must find where its log diverges from the
	// leader's before it fetches (OffsetForLeaderEpoch).
	Truncating FollowerState = iota + 1
	// Fetching: the follower fetches from its log end.
	Fetching
	// Waiting: nothing to do until the metadata image moves: the leader
	// fenced this follower's epoch, or the partition has no leader.
	Waiting
)

func (s FollowerState) String() string {
	switch s {
	case Truncating:
		return "truncating"
	case Fetching:
		return "fetching"
	case Waiting:
		return "waiting"
	}
	return fmt.Sprintf("FollowerState(%d)", uint8(s))
}

// StepKind says what a follower does next.
type StepKind uint8

const (
	// StepWait: nothing to send; wait for the metadata image.
	StepWait StepKind = iota + 1
	// StepSync: fsync the log first; a fetch offset must be durable,
	// because the leader counts it toward the high watermark.
	StepSync
	// StepTruncate: truncate the log (and epoch cache, and producer state)
	// to Step.TruncateTo; no request.
	StepTruncate
	// StepAskEpochEnd: send OffsetForLeaderEpoch for Step.Epoch, then call
	// OnEpochEnd with the answer.
	StepAskEpochEnd
	// StepFetch: fetch from Step.FetchOffset, then call OnFetch.
	StepFetch
)

func (k StepKind) String() string {
	switch k {
	case StepWait:
		return "wait"
	case StepSync:
		return "sync"
	case StepTruncate:
		return "truncate"
	case StepAskEpochEnd:
		return "ask-epoch-end"
	case StepFetch:
		return "fetch"
	}
	return fmt.Sprintf("StepKind(%d)", uint8(k))
}

// Step is the follower's next move for one partition.
type Step struct {
	Kind               StepKind
	TruncateTo         int64 // StepTruncate
	Epoch              int32 // StepAskEpochEnd: the epoch to ask the end of
	CurrentLeaderEpoch int32 // the requests' current_leader_epoch
	FetchOffset        int64 // StepFetch: the log end, durable
	LastFetchedEpoch   int32 // StepFetch: -1 sends none (no divergence check)
	LogStartOffset     int64 // StepFetch
}

// FetchResult is one partition of the leader's Fetch answer.
type FetchResult struct {
	// FetchOffset is the offset the request asked for (Step.FetchOffset).
	FetchOffset    int64
	Err            int16
	HighWatermark  int64
	LogStartOffset int64
	// DivergingEpoch and DivergingEndOffset: the leader's diverging epoch;
	// both -1 when it sent none.
	DivergingEpoch     int32
	DivergingEndOffset int64
	// Tombstones is the leader log's tombstone mark, read after the
	// records; zero when it sent none.
	Tombstones TombstoneMark
	// Records are the batches as received; Action.Append aliases them.
	Records []byte
}

// Action is what the shell must do with an answer, in this order:
// Tombstones, TruncateTo, StartAt, then Append. Then it reads the new high
// watermark with HighWatermark.
type Action struct {
	// Tombstones: raise the local log's tombstone mark to it, durably
	// (log.InheritTombstoneMark; nothing when it is not higher): the
	// batches appended come from a log that lacks the tombstones below it.
	Tombstones TombstoneMark
	// TruncateTo >= 0: truncate the log to it (log.TruncateTo), then the
	// epoch cache (TruncateFromEnd, even when the log already ends there)
	// and the producer state (rebuilt from the log that is left).
	TruncateTo int64
	// StartAt >= 0: empty the log and restart it there
	// (log.TruncateFullyAndStartAt, epoch.Cache.Clear, producer state
	// reset): the leader's log starts past this follower's end, or
	// (Recopy) the leader removed tombstones past it.
	StartAt int64
	// Recopy: StartAt is the leader's log start, at or below this log's
	// end, because the leader's cleaner removed tombstones at or after
	// this log's end (see TombstoneMark): the follower copies the leader's
	// log again from its start rather than keep older values of deleted
	// keys. The shell only reports it.
	Recopy bool
	// Append are batches that continue the log, checked: for each, in
	// order, assign its epoch in the epoch cache, AppendReplicated it, and
	// replay it into the producer state. They alias FetchResult.Records.
	Append []record.Batch
	// Gaps are the compaction gaps Append crosses, in order: each where a
	// batch starts past the offset before it (the log end for the
	// first), the leader's cleaner having removed what was between. The
	// follower copies them as they are; the shell only reports them.
	Gaps []Gap
	// Backoff: a retriable error; wait before asking this leader again.
	Backoff bool
	// Err says what was wrong with the answer, for the log; an answer with
	// Err may still carry a valid prefix to Append.
	Err error
}

// Gap is a range of offsets [From, To) that a follower's log skips where
// the leader's log has no batch (its cleaner removed them).
type Gap struct{ From, To int64 }

// ErrNotContiguous: a fetched batch starts below where the log ends (or
// the previous fetched batch ended): it would overwrite offsets.
var ErrNotContiguous = errors.New("replica: fetched batch does not continue the log")

// Follower is the replication state machine of one partition this broker
// follows (Kafka's AbstractFetcherThread per-partition state). It decides
// what to ask the leader, where to truncate, and which fetched batches to
// append; the fetcher does the I/O. Not safe for concurrent use.
//
// The shell must carry out every Step and Action before calling again, and
// stop replicating the partition if it cannot (a failed truncation or
// append takes the partition offline).
type Follower struct {
	cfg            FollowerConfig
	leader         int32
	leaderEpoch    int32
	partitionEpoch int32
	state          FollowerState
	// leaderHW is the last high watermark the leader sent; hw the
	// follower's own, never moved back except by a truncation below it.
	leaderHW int64
	hw       int64
	// tombstones is the leader's tombstone mark this log was last found
	// consistent with: this log ended at or past its Below, or was emptied
	// and copied again from the leader since. Zero after a new leader or
	// epoch.
	tombstones TombstoneMark
}

// TombstoneMark is a log's tombstone mark (log.TombstoneMark): every
// tombstone the log lacks (its cleaner removed it after
// delete.retention.ms, or it copied a log that lacked it) is below Below;
// Gen moves on each time that set may have grown. The zero value: the log
// lacks none.
type TombstoneMark struct{ Below, Gen int64 }

// NewFollower makes the local replica a follower in a. hw is its high
// watermark (see NewLeader).
func NewFollower(cfg FollowerConfig, a Assignment, hw int64, local LocalLog) (*Follower, error) {
	if a.Leader == cfg.LocalID {
		return nil, ErrLeader
	}
	if err := a.validate(cfg.LocalID); err != nil {
		return nil, err
	}
	f := &Follower{cfg: cfg, hw: max(0, min(hw, local.EndOffset())), leaderHW: -1}
	f.follow(a, local)
	return f, nil
}

func (f *Follower) follow(a Assignment, local LocalLog) {
	f.leader, f.leaderEpoch, f.partitionEpoch = a.Leader, a.LeaderEpoch, a.PartitionEpoch
	f.tombstones = TombstoneMark{}
	switch {
	case a.Leader < 0:
		f.state = Waiting
	case f.cfg.Defects.SkipTruncation:
		f.state = Fetching
	case f.cfg.TruncateOnFetch && local.LatestEpoch() != epoch.Undefined:
		f.state = Fetching
	default:
		f.state = Truncating
	}
}

// UpdateAssignment applies a metadata image change. A new leader or leader
// epoch restarts the cycle (restart true: the fetcher drops what it has in
// flight for the partition and moves it to the new leader's fetcher). A
// stale assignment is ignored. ErrLeader means a makes this broker the
// leader.
func (f *Follower) UpdateAssignment(a Assignment, local LocalLog) (restart bool, err error) {
	if a.Leader == f.cfg.LocalID {
		return false, ErrLeader
	}
	if err := a.validate(f.cfg.LocalID); err != nil {
		return false, err
	}
	if a.LeaderEpoch < f.leaderEpoch || (a.LeaderEpoch == f.leaderEpoch && a.PartitionEpoch < f.partitionEpoch) {
		return false, nil
	}
	if a.LeaderEpoch > f.leaderEpoch || a.Leader != f.leader {
		f.follow(a, local)
		return true, nil
	}
	f.partitionEpoch = a.PartitionEpoch
	return false, nil
}

// Next says what to do next.
func (f *Follower) Next(local LocalLog) Step {
	if f.state == Truncating && f.cfg.Defects.SkipTruncation {
		f.state = Fetching
	}
	switch f.state {
	case Waiting:
		return Step{Kind: StepWait}
	case Truncating:
		latest := local.LatestEpoch()
		if latest == epoch.Undefined {
			// No epochs to compare: Kafka's fallback, truncate to the high
			// watermark, which every replica in the ISR holds.
			f.state = Fetching
			return Step{Kind: StepTruncate, TruncateTo: min(f.hw, local.EndOffset())}
		}
		return Step{Kind: StepAskEpochEnd, Epoch: latest, CurrentLeaderEpoch: f.leaderEpoch}
	}
	if local.DurableOffset() < local.EndOffset() {
		return Step{Kind: StepSync}
	}
	last := epoch.Undefined
	if f.cfg.TruncateOnFetch && !f.cfg.Defects.SkipTruncation {
		last = local.LatestEpoch()
	}
	return Step{
		Kind:               StepFetch,
		CurrentLeaderEpoch: f.leaderEpoch,
		FetchOffset:        local.EndOffset(),
		LastFetchedEpoch:   last,
		LogStartOffset:     local.StartOffset(),
	}
}

// OnEpochEnd takes the leader's OffsetForLeaderEpoch answer for the epoch
// StepAskEpochEnd named.
func (f *Follower) OnEpochEnd(code int16, leaderEpoch int32, endOffset int64, local LocalLog) Action {
	a := Action{TruncateTo: -1, StartAt: -1}
	if f.state != Truncating {
		return a
	}
	if code != 0 {
		return f.onError(code, a)
	}
	to, done := f.truncation(leaderEpoch, endOffset, local)
	a.TruncateTo = to
	if done || f.cfg.TruncateOnFetch {
		f.state = Fetching
	}
	return a
}

// OnFetch takes the leader's Fetch answer for this partition.
func (f *Follower) OnFetch(r FetchResult, local LocalLog) Action {
	a := Action{TruncateTo: -1, StartAt: -1}
	if f.state != Fetching || r.FetchOffset != local.EndOffset() {
		return a // the state or the log moved since the request: drop it
	}
	switch r.Err {
	case 0:
	case kerr.OffsetOutOfRange.Code:
		if r.LogStartOffset > local.EndOffset() {
			// Far behind: what this follower lacks is gone from the
			// leader too. Restart the log at the leader's start.
			a.StartAt = r.LogStartOffset
			f.leaderHW = r.HighWatermark
			return a
		}
		// The follower's end is past the leader's: only after an unclean
		// election, or a divergence the epochs did not show. Ask again.
		f.state = Truncating
		a.Err = fmt.Errorf("fetch at %d out of range (leader starts at %d)", r.FetchOffset, r.LogStartOffset)
		return a
	default:
		return f.onError(r.Err, a)
	}
	if (r.DivergingEpoch >= 0 || r.DivergingEndOffset >= 0) && !f.cfg.Defects.SkipTruncation {
		// Not the leader's high watermark yet: below it this log may hold
		// the divergent records it is about to cut, and a high watermark
		// over them would vouch for records that are not the leader's.
		to, done := f.truncation(r.DivergingEpoch, r.DivergingEndOffset, local)
		a.TruncateTo = to
		if !done && !f.cfg.TruncateOnFetch {
			f.state = Truncating
		}
		return a
	}
	// The fetch passed the leader's divergence check (or followed a
	// completed truncation): this log is the leader's up to the fetch
	// offset, and the batches appended are the leader's too.
	f.leaderHW = r.HighWatermark
	a.Tombstones = r.Tombstones
	if f.mustRecopy(r.Tombstones, local) {
		a.StartAt, a.Recopy = r.LogStartOffset, true
		return a
	}
	a.Append, a.Gaps, a.Err = f.checkBatches(r.Records, local)
	if a.Err != nil && len(a.Append) == 0 && errors.Is(a.Err, ErrNotContiguous) {
		// The leader's batch starts below our end: the logs are cut
		// differently there, in a way the epochs did not show. Find out
		// again.
		f.state = Truncating
		a.Backoff = true
	}
	return a
}

// mustRecopy decides, given the leader's tombstone mark m, whether this
// log must be emptied and copied again from the leader's start, and
// remembers m as checked.
//
// The leader's cleaner removes a tombstone delete.retention.ms after it
// first keeps it, with every older record of its key. If it removed one at
// or after this log's end, this log may hold an older record of that key
// below its end, which no batch the leader will serve supersedes: copied
// on, the key would come back (seed 23094). Whether it did is unknown, so
// when the leader lacks tombstones at or after this log's end (m.Below
// past it) the log restarts, unless it holds no record (nothing to come
// back) or already checked m: it was emptied and copied from this leader
// since m was last raised, so it holds only what the leader held, and the
// leader removed nothing since. A follower in the ISR never restarts:
// Below stays below every high watermark reached, and an ISR member holds
// every offset below one.
func (f *Follower) mustRecopy(m TombstoneMark, local LocalLog) bool {
	end := local.EndOffset()
	recopy := end < m.Below && m != f.tombstones && local.StartOffset() < end && !f.cfg.Defects.KeepDeletedKeys
	f.tombstones = m
	return recopy
}

func (f *Follower) onError(code int16, a Action) Action {
	a.Err = kerr.ErrorForCode(code)
	if code == kerr.FencedLeaderEpoch.Code {
		// The leader is in a later epoch than this follower knows: wait for
		// the metadata image to say which (Kafka's onPartitionFenced).
		f.state = Waiting
		return a
	}
	// NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH (the leader has not seen
	// the change yet), storage errors...: retry after a pause.
	a.Backoff = true
	return a
}

// truncation is Kafka's getOffsetTruncationState: where to truncate given
// the leader's end offset for an epoch, and whether that is final or the
// follower must ask again about an earlier epoch.
func (f *Follower) truncation(leaderEpoch int32, leaderEnd int64, local LocalLog) (int64, bool) {
	end := local.EndOffset()
	switch {
	case leaderEnd == epoch.UndefinedOffset:
		// The leader knows no such epoch at all (its log has no epochs):
		// fall back to the high watermark.
		return min(f.hw, end), true
	case leaderEpoch == epoch.Undefined:
		return min(leaderEnd, end), true
	}
	followerEpoch, followerEnd := local.EndOffsetForEpoch(leaderEpoch)
	switch {
	case followerEnd == epoch.UndefinedOffset:
		// This follower tracked no epoch at or below the leader's answer.
		return min(leaderEnd, end), true
	case followerEpoch != leaderEpoch:
		// The leader answered with an epoch this follower does not have:
		// cut to where this follower's earlier epoch ends, and ask again.
		return min(followerEnd, end), false
	}
	return min(followerEnd, leaderEnd, end), true
}

// checkBatches returns the longest prefix of records that continues the
// log: whole batches that pass record.Parse (CRC-32C), the first starting
// at or after the log end and each after the previous, with leader epochs
// never decreasing and never past the leader epoch followed. A partial
// batch at the end (a size limit) is not an error.
//
// A batch may start past the offset expected: the leader's cleaner removed
// the batches between (compaction keeps offsets), or the fetch offset is
// inside such a removed range and the leader served the next batch. The
// follower copies the gap as it is, as Kafka's does (its follower append
// only refuses offsets that go back); the leader never serves a gap
// otherwise, since a fetch past its log end is OFFSET_OUT_OF_RANGE. The
// gaps of the prefix returned are listed, for the shell to report.
func (f *Follower) checkBatches(records []byte, local LocalLog) ([]record.Batch, []Gap, error) {
	next, prevEpoch := local.EndOffset(), local.LatestEpoch()
	var out []record.Batch
	var gaps []Gap
	for len(records) > 0 {
		b, err := record.Parse(records)
		if errors.Is(err, record.ErrTruncated) {
			return out, gaps, nil
		}
		if err != nil {
			return out, gaps, fmt.Errorf("batch at %d: %w", next, err)
		}
		switch {
		case b.FirstOffset < next:
			return out, gaps, fmt.Errorf("%w: batch at %d, log ends at %d", ErrNotContiguous, b.FirstOffset, next)
		case b.PartitionLeaderEpoch > f.leaderEpoch:
			return out, gaps, fmt.Errorf("batch at %d has leader epoch %d, past the leader's %d", next, b.PartitionLeaderEpoch, f.leaderEpoch)
		case b.PartitionLeaderEpoch >= 0 && b.PartitionLeaderEpoch < prevEpoch:
			return out, gaps, fmt.Errorf("batch at %d has leader epoch %d, after epoch %d", next, b.PartitionLeaderEpoch, prevEpoch)
		}
		if b.FirstOffset > next {
			gaps = append(gaps, Gap{From: next, To: b.FirstOffset})
		}
		out = append(out, b)
		next = b.LastOffset() + 1
		prevEpoch = max(prevEpoch, b.PartitionLeaderEpoch)
		records = records[len(b.Raw):]
	}
	return out, gaps, nil
}

// HighWatermark is the follower's high watermark once the last Action is
// applied: the leader's, capped by the local log end, and never moved
// back, except when a truncation (after an unclean election) cut below it.
func (f *Follower) HighWatermark(local LocalLog) int64 {
	end := local.EndOffset()
	before := f.hw
	if c := min(f.leaderHW, end); c > f.hw {
		f.hw = c
	}
	if f.hw > end {
		f.hw = end
	}
	if f.hw < before && f.hw != end {
		assert.Failf("follower high watermark went back from %d to %d above its log end %d", before, f.hw, end)
	}
	return f.hw
}

// Leader is the leader followed, -1 for none; LeaderEpoch its epoch.
func (f *Follower) Leader() int32      { return f.leader }
func (f *Follower) LeaderEpoch() int32 { return f.leaderEpoch }

// State is where the follower is in its cycle.
func (f *Follower) State() FollowerState { return f.state }
