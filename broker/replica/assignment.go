package replica

import (
	"errors"
	"fmt"
	"slices"
)

// Assignment is one partition as the metadata image has it: who leads, in
// which epochs, and the replica sets. The reconciler passes it to the
// state machines each time the image changes the partition.
type Assignment struct {
	Leader int32 // -1: no leader
	// LeaderEpoch grows with every leader election (and with every change
	// that must restart the followers' fetchers).
	LeaderEpoch int32
	// PartitionEpoch grows with every change of the partition's record:
	// elections and ISR changes. AlterPartition carries it so the
	// controller refuses a change computed from an ISR that changed since.
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
	// Ineligible lists replicas that may not join the ISR nor hold back
	// the high watermark unless already in it: fenced brokers and brokers
	// in controlled shutdown (KRaft's isReplicaIsrEligible).
	Ineligible []int32
}

func (a Assignment) validate(local int32) error {
	if !slices.Contains(a.Replicas, local) {
		return fmt.Errorf("replica: broker %d is not a replica of %v", local, a.Replicas)
	}
	for _, id := range a.ISR {
		if !slices.Contains(a.Replicas, id) {
			return fmt.Errorf("replica: ISR member %d is not a replica of %v", id, a.Replicas)
		}
	}
	if a.LeaderEpoch < 0 || a.PartitionEpoch < 0 {
		return fmt.Errorf("replica: negative epoch (leader %d, partition %d)", a.LeaderEpoch, a.PartitionEpoch)
	}
	return nil
}

// Local is the local replica's log as the state machines see it.
type Local struct {
	// End is the log end offset.
	End int64
	// Durable: every offset below it survives a crash. With the broker's
	// fsync-on-ack default it is the log's synced offset; without, End.
	Durable int64
}

var (
	// ErrNotLeader: the assignment names another leader; the caller must
	// resign the Leader and make a Follower.
	ErrNotLeader = errors.New("replica: the assignment names another leader")
	// ErrLeader: the assignment names this broker leader; the caller must
	// stop the Follower and make a Leader.
	ErrLeader = errors.New("replica: the assignment names this broker leader")
)

// Defects plants known replication bugs, for the self-test that proves the
// checkers catch them. All false (the default) is correct behaviour; never
// set one outside a test or the simulator's selftest.
type Defects struct {
	// HighWatermarkAtLeaderEnd: the leader advances the high watermark to
	// its own log end instead of the minimum over the ISR.
	HighWatermarkAtLeaderEnd bool
	// SkipTruncation: a follower never truncates after a leader change; it
	// fetches from its own log end, ignoring diverging epochs.
	SkipTruncation bool
	// UnfencedShrink: the leader applies an ISR shrink as soon as it
	// proposes it and takes any AlterPartition answer as the new state,
	// instead of keeping the maximal ISR until the controller accepts the
	// change at the partition epoch it was computed from.
	UnfencedShrink bool
	// KeepDeletedKeys: a follower ignores its leader's tombstone mark, so
	// one that was away while the leader's cleaner removed a key's
	// tombstone keeps the key's older value and serves it once it leads.
	KeepDeletedKeys bool
}

func sortedIDs(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func without(ids []int32, drop []int32) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}
