package replica

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/replica/epoch"
)

// EpochLookup answers "where does this leader epoch end in my log";
// *epoch.Cache has it.
type EpochLookup interface {
	EndOffsetFor(requested int32, logEnd int64) (int32, int64)
}

// CheckLeaderEpoch is Kafka's checkCurrentLeaderEpoch, the fencing of every
// request that names the leader epoch its sender believes in (Fetch from
// consumers and followers, ListOffsets, OffsetForLeaderEpoch): -1 (not
// sent, old versions) passes; an older epoch is FENCED_LEADER_EPOCH (the
// sender's metadata is stale: it refreshes); a newer one is
// UNKNOWN_LEADER_EPOCH (this broker has not seen the change yet: the sender
// retries).
func CheckLeaderEpoch(local, requested int32) int16 {
	switch {
	case requested < 0:
		return 0
	case requested < local:
		return kerr.FencedLeaderEpoch.Code
	case requested > local:
		return kerr.UnknownLeaderEpoch.Code
	}
	return 0
}

// AnswerEpochEnd answers one partition of an OffsetForLeaderEpoch request
// on a broker whose leader epoch for it is localEpoch: the current leader
// epoch check, then, on the leader only (Kafka serves it from the leader
// for followers and consumers alike), the end of the requested epoch in
// the log (epoch.Cache.EndOffsetFor). On an error the epoch and offset are
// Undefined.
func AnswerEpochEnd(cache EpochLookup, isLeader bool, localEpoch, currentLeaderEpoch, requested int32, logEnd int64) (code int16, leaderEpoch int32, endOffset int64) {
	if code := CheckLeaderEpoch(localEpoch, currentLeaderEpoch); code != 0 {
		return code, epoch.Undefined, epoch.UndefinedOffset
	}
	if !isLeader {
		return kerr.NotLeaderForPartition.Code, epoch.Undefined, epoch.UndefinedOffset
	}
	e, o := cache.EndOffsetFor(requested, logEnd)
	return 0, e, o
}

// Divergence is the leader's verdict on a follower fetch's last fetched
// epoch (KIP-320, Fetch v12+).
type Divergence struct {
	// Code is OFFSET_OUT_OF_RANGE when the epoch's end cannot be found or
	// the fetch offset is below the log start; otherwise 0.
	Code int16
	// Diverging: answer with DivergingEpoch{Epoch, EndOffset} and no
	// records, and do not record the fetch (RecordFetch).
	Diverging bool
	Epoch     int32
	EndOffset int64
}

// CheckDiverging is the check Kafka's Partition.readRecords makes before
// reading for a fetch that carries a last fetched epoch (lastFetchedEpoch
// < 0: none, no check): where that epoch ends in the leader's log; if the
// leader has no such epoch, or it ends before the fetch offset, the
// follower's log diverges there and it must truncate first.
func CheckDiverging(cache EpochLookup, lastFetchedEpoch int32, fetchOffset, logStart, logEnd int64) Divergence {
	if lastFetchedEpoch < 0 {
		return Divergence{}
	}
	e, end := cache.EndOffsetFor(lastFetchedEpoch, logEnd)
	if e == epoch.Undefined || end == epoch.UndefinedOffset || fetchOffset < logStart {
		return Divergence{Code: kerr.OffsetOutOfRange.Code}
	}
	if e < lastFetchedEpoch || end < fetchOffset {
		return Divergence{Diverging: true, Epoch: e, EndOffset: end}
	}
	return Divergence{}
}
