package partition

import (
	"context"
	"log/slog"
	"time"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env"
)

// Config is what one partition takes from its broker's configuration at
// open; it does not change while the partition is open.
type Config struct {
	// Topic, Index and TopicID name the partition (to the fetchers, the
	// controller and the logs); Dir is its directory, claimed by the
	// caller for TopicID before Open.
	Topic   string
	Index   int32
	TopicID [16]byte
	Dir     string
	// Log is the segmented log's settings (from the topic's config).
	Log wlog.Config

	// NodeID is this broker's id, as a replica.Leader counts it.
	NodeID int32
	// FsyncAcksAll (weir.fsync.acks.all): the leader's own part of the
	// high watermark counts only once fsynced, and every append asks for
	// an fsync.
	FsyncAcksAll bool
	// FlushIntervalMessages (log.flush.interval.messages): without
	// FsyncAcksAll, an fsync is asked for every so many messages; 0 never.
	FlushIntervalMessages int64
	// ReplicaLagTimeMax (replica.lag.time.max.ms) is the leader's ISR
	// check's bound.
	ReplicaLagTimeMax time.Duration
	// RequireVerification: a transactional produce that opens a
	// transaction must be verified with its coordinator (KIP-890 part 1).
	RequireVerification bool

	Defects Defects
}

// Defects are the planted bugs of partition code, for the simulator's
// selftest and tests only (broker.Defects documents each one).
type Defects struct {
	// ForgetProducers: a start forgets the producer state.
	ForgetProducers bool
	// EarlyHighWatermark: unsynced bytes count as durable for the
	// leader's high watermark.
	EarlyHighWatermark bool
	// FetchSkipsBatch: a consumer read drops some reads' first batch.
	FetchSkipsBatch bool
	// Replica are the leader state machine's defects.
	Replica replica.Defects
}

// Deps are the broker's services a partition uses. Only FS and Clock are
// required; the rest may be nil in tests of a partition without a broker
// (then it fsyncs at normal priority, cannot follow, sends no ISR change
// and logs breaches).
type Deps struct {
	FS    env.FS
	Clock env.Clock
	// ReplicaTime is the time the replica Leader runs on (lag times for
	// replica.lag.time.max.ms): steady, so a wall clock step neither
	// shrinks the ISR nor keeps a stopped follower in it. It must be the
	// broker's one SteadyClock, since the broker stamps the answers to
	// the Leader's ISR changes (AlterPartitionDone) with it too.
	ReplicaTime env.SteadyClock
	Logger      *slog.Logger
	// Background runs the fsyncs nobody waits for at low priority.
	Background Background
	// Fetchers replicate the partition while it follows.
	Fetchers Fetchers
	// Alters takes the leader's ISR changes to the controller.
	Alters AlterProposer
	// Breach receives every invariant found broken (only builds with
	// -tags invariants check them).
	Breach func(name, detail string)
}

// Background runs fn on low-priority threads (internal/lowprio.Pool); a
// non-nil error says fn did not run because ctx ended or the pool stopped.
type Background interface {
	Do(ctx context.Context, fn func()) error
}

// Fetchers is the broker's replica fetcher manager (fetcher.Manager). A
// partition calls it only from SetRole, never with its lock held: the
// fetchers call into a followed partition with their own lock held.
type Fetchers interface {
	Follow(tp fetcher.TopicPartition, leader fetcher.Broker, a replica.Assignment, hw int64, p fetcher.Partition) error
	Stop(tp fetcher.TopicPartition) (hw int64, ok bool)
}

// AlterProposer takes a leader's ISR change to the controller and hands
// the answer back through AlterPartitionDone. Propose is called with the
// partition's lock held, so it must only queue the proposal.
type AlterProposer interface {
	Propose(p *Partition, l *replica.Leader, prop replica.AlterPartition)
}
