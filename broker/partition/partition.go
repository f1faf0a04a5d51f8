package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/txn"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/invariants"
)

// Partition is this broker's replica of one partition: its log, its
// idempotent producer state, its high watermark and its replication role
// (rep, replication.go).
//
// The high watermark is what consumers may read. On the leader it is the
// replica.Leader's: the smallest log end of the ISR, where the leader's own
// part counts only once fsynced with FsyncAcksAll (the default), so a
// consumer never reads a record that a crash could still take back; every
// append schedules a group-committed fsync so data becomes visible
// promptly. Without FsyncAcksAll the leader's log end counts, as in Kafka.
// On a follower it is what the leader last said, capped by the local log.
type Partition struct {
	cfg   Config
	fs    env.FS
	clock env.Clock
	// replicaTime is Deps.ReplicaTime.
	replicaTime env.SteadyClock
	logger      *slog.Logger
	background  Background
	fetchers    Fetchers
	alters      AlterProposer
	breachHook  func(name, detail string)

	topic string
	index int32
	dir   string

	// mu serializes appends so that the producer-state check, the append
	// and the state update are one step; reads do not take it.
	mu        sync.Mutex
	log       *wlog.Log
	producers *txn.PartitionProducers
	unflushed int64 // messages appended since the last fsync was requested
	// replayedFrom is the offset the producer state was replayed from at
	// open: the log start, or the offset of the snapshot it started from.
	replayedFrom int64

	// leading: this broker leads the partition, in leaderEpoch; set by
	// the reconciler from the metadata image. Requests that only a leader
	// serves (produce, consumer fetches, offset lookups) check it.
	leading     atomic.Bool
	leaderEpoch atomic.Int32
	// rep is the partition's replication: its epoch cache, its Leader or
	// its registration with the fetchers, the acks=all waiters.
	rep replicaState

	hw atomic.Int64
	// hwMu guards hwChanged, closed and replaced whenever the high watermark
	// moves or the partition fails, to wake waiting fetches and produces.
	hwMu      sync.Mutex
	hwChanged chan struct{}
	failure   atomic.Pointer[error]

	syncReq chan struct{} // capacity 1: a pending fsync request
	// syncAwaited: an acks=-1 produce appended since the syncer last looked
	// and waits for the next fsync. watched: a fetch or produce asked to be
	// woken at the next high watermark change, which the next fsync makes.
	// Either makes the next fsync run at normal priority (see sync).
	syncAwaited atomic.Bool
	watched     atomic.Bool
	// lastSyncStart is when the syncer last started an fsync; only the
	// syncer goroutine uses it.
	lastSyncStart time.Time
	stopSync      context.CancelFunc
	syncDone      chan struct{}
}

// Open opens (creating if new) this broker's replica of one partition, in
// cfg.Dir (which the caller has claimed for the topic). It starts as a
// replica that leads nothing; SetRole sets its role. Its fsync goroutine
// ends with ctx or Close.
func Open(ctx context.Context, cfg Config, deps Deps) (*Partition, error) {
	l, err := wlog.Open(deps.FS, deps.Clock, cfg.Dir, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("partition %s-%d: %w", cfg.Topic, cfg.Index, err)
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Partition{
		cfg: cfg, fs: deps.FS, clock: deps.Clock, replicaTime: deps.ReplicaTime, logger: logger,
		background: deps.Background, fetchers: deps.Fetchers, alters: deps.Alters, breachHook: deps.Breach,
		topic: cfg.Topic, index: cfg.Index, dir: cfg.Dir, log: l,
		producers: txn.NewPartitionProducers(),
		hwChanged: make(chan struct{}),
		syncReq:   make(chan struct{}, 1),
		syncDone:  make(chan struct{}),
	}
	p.producers.SetRequireVerification(cfg.RequireVerification)
	// Everything recovered from disk survived a restart, so it is durable
	// by definition once synced again; rebuild producer state by replay,
	// from the newest snapshot that fits the log if there is one.
	if err := l.Sync(); err != nil {
		l.Close()
		return nil, err
	}
	if err := p.loadProducers(); err != nil {
		l.Close()
		return nil, fmt.Errorf("partition %s-%d: rebuilding producer state: %w", cfg.Topic, cfg.Index, err)
	}
	if err := p.rep.open(p, cfg.TopicID); err != nil {
		l.Close()
		return nil, fmt.Errorf("partition %s-%d: %w", cfg.Topic, cfg.Index, err)
	}
	// The records recovered may never have been committed (this replica
	// may have led with followers that never got them): the high watermark
	// starts at the log start and moves once a leader vouches for more.
	p.hw.Store(l.StartOffset())
	p.lastSyncStart = deps.Clock.Now() // the open synced the log
	ctx, cancel := context.WithCancel(ctx)
	p.stopSync = cancel
	go p.runSyncer(ctx)
	return p, nil
}

func (p *Partition) nowMs() int64 { return p.clock.Now().UnixMilli() }

// AppendResult is the outcome of one produced batch.
type AppendResult struct {
	BaseOffset  int64
	EndOffset   int64 // offset after the batch: acks=-1 waits for the high watermark to reach it
	LeaderEpoch int32 // the leader epoch it was appended (or found, a duplicate) in
	LogAppendMs int64 // -1 unless the topic uses LogAppendTime
	Err         error // a kerr error, or nil
	Reason      string
}

// NotLeaderMessage is the reason given with NOT_LEADER_OR_FOLLOWER.
const NotLeaderMessage = "this broker is not the leader of this partition; refresh metadata"

// Append validates a produced batch against producer state and appends it.
// A retried batch that was already appended is answered with its original
// offsets and not appended again.
//
// awaited says the producer waits for the fsync (acks=-1), so the fsync this
// append requests must not wait behind other work (see Partition.sync).
func (p *Partition) Append(batch *record.Batch, logAppendTime, awaited bool) AppendResult {
	return p.appendChecked(batch, logAppendTime, awaited, p.producers.Check)
}

// AppendTV2 is Append for a batch of a producer of transaction version 2
// (Produce v12+), checked as such (txn.PartitionProducers.CheckTV2).
func (p *Partition) AppendTV2(batch *record.Batch, logAppendTime, awaited bool) AppendResult {
	return p.appendChecked(batch, logAppendTime, awaited, p.producers.CheckTV2)
}

// appendChecked is Append with the producer-state check given: a
// transaction marker is checked by CheckMarker (txn.go). check
// runs under mu.
func (p *Partition) appendChecked(batch *record.Batch, logAppendTime, awaited bool, check func(*record.Batch) txn.Decision) AppendResult {
	if errp := p.failure.Load(); errp != nil {
		return AppendResult{Err: kerr.KafkaStorageError}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leading.Load() {
		// Leadership moved between the handler's check and here.
		return AppendResult{Err: kerr.NotLeaderForPartition, Reason: NotLeaderMessage}
	}
	d := check(batch)
	switch d.Action {
	case txn.Reject:
		return AppendResult{Err: d.Err, Reason: d.Reason}
	case txn.Duplicate:
		return AppendResult{BaseOffset: d.Original.BaseOffset, EndOffset: d.Original.LastOffset + 1, LogAppendMs: -1, LeaderEpoch: p.leaderEpoch.Load()}
	}
	res := AppendResult{LogAppendMs: -1, LeaderEpoch: p.leaderEpoch.Load()}
	// Kafka stamps each batch with the epoch of the leader that appended
	// it: the leader-epoch history that truncation after a leader change
	// is decided from.
	record.SetLeaderEpoch(batch.Raw, p.leaderEpoch.Load())
	if logAppendTime {
		res.LogAppendMs = p.nowMs()
		record.SetLogAppendTime(batch.Raw, res.LogAppendMs)
		batch.MaxTimestamp = res.LogAppendMs
	}
	segments := p.log.Segments()
	var prevEnd int64
	if invariants.Enabled {
		prevEnd = p.log.EndOffset()
	}
	base, err := p.log.Append(batch.Raw)
	if err != nil {
		p.Fail(err)
		return AppendResult{Err: kerr.KafkaStorageError}
	}
	if invariants.Enabled {
		p.checkDenseAppend(prevEnd, base, batch.LastOffsetDelta)
	}
	if p.log.Segments() > segments {
		// The batch opened a new segment at base; the state has not seen
		// it yet, and everything below base was synced by the roll.
		if err := p.saveProducers(base); err != nil {
			p.logger.Warn("writing a producer state snapshot failed; a restart will replay more of the log", "topic", p.topic, "partition", p.index, "err", err)
		}
	}
	batch.FirstOffset = base
	p.producers.Update(batch, base)
	res.BaseOffset = base
	res.EndOffset = base + int64(batch.LastOffsetDelta) + 1
	p.unflushed += int64(batch.NumRecords)
	if p.cfg.FsyncAcksAll || (p.cfg.FlushIntervalMessages > 0 && p.unflushed >= p.cfg.FlushIntervalMessages) {
		p.unflushed = 0
		if awaited {
			p.syncAwaited.Store(true)
		}
		p.requestSync()
	}
	p.appendedLocked() // replication.go: the high watermark, waiting followers
	return res
}

func (p *Partition) requestSync() {
	select {
	case p.syncReq <- struct{}{}:
	default: // one is already pending; it will cover this append too
	}
}

func (p *Partition) RequestSyncIfDirty() {
	p.mu.Lock()
	dirty := p.unflushed > 0 || p.log.SyncedOffset() < p.log.EndOffset()
	p.unflushed = 0
	p.mu.Unlock()
	if dirty {
		p.requestSync()
	}
}

// runSyncer is the partition's group commit: one fsync covers every append
// made before it started, so concurrent acks=-1 produces share it.
func (p *Partition) runSyncer(ctx context.Context) {
	defer close(p.syncDone)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.syncReq:
		}
		if err := p.sync(ctx); err != nil {
			if !errors.Is(err, wlog.ErrClosed) {
				p.Fail(err)
			}
			return
		}
		p.synced() // replication.go: the leader's durable offset moved
	}
}

// backgroundSyncMaxLag bounds how long an append may wait for a
// low-priority fsync: a sync that would cover bytes appended longer ago
// than this runs at normal priority. On a machine whose CPUs are busy all
// the time, nice-19 threads get a few percent of a core, and without the
// bound the unsynced tail (and so the high watermark's lag, and the first
// fetch of a consumer arriving) would grow with every fsync.
const backgroundSyncMaxLag = time.Second

// sync is one group-commit fsync. When no producer or fetch waits for it
// (acks=1 and no consumer on the partition, or the flush settings' fsyncs)
// and what it covers is recent (backgroundSyncMaxLag), it runs on the
// broker's low-priority threads (internal/lowprio), so that the CPU it costs
// (the fsync's writeback and the page-cache drop after it) goes to the
// request path and the clients first. Otherwise, or without those threads,
// it runs here. It returns nil without syncing when ctx ends first. Only the
// syncer goroutine calls it.
func (p *Partition) sync(ctx context.Context) error {
	awaited := p.syncAwaited.Swap(false) || p.watched.Load()
	// This sync covers what was appended since the previous one started.
	now := p.clock.Now()
	stale := now.Sub(p.lastSyncStart) > backgroundSyncMaxLag
	p.lastSyncStart = now
	if awaited || stale || p.background == nil {
		return p.log.Sync()
	}
	var err error
	if p.background.Do(ctx, func() { err = p.log.Sync() }) != nil {
		// The partition or the broker is stopping: whoever closes the
		// log syncs it.
		return nil
	}
	return err
}

// Fail marks the partition as failed after a storage error: Kafka takes a
// log directory offline rather than risk serving what it cannot vouch for.
func (p *Partition) Fail(err error) {
	if p.failure.CompareAndSwap(nil, &err) {
		p.logger.Error("partition storage failed; taking it offline", "topic", p.topic, "partition", p.index, "err", err)
		close(p.rep.failed) // acks=all waiters and follower fetches stop waiting
	}
	p.hwMu.Lock()
	close(p.hwChanged)
	p.hwChanged = make(chan struct{})
	p.watched.Store(false)
	p.hwMu.Unlock()
}

func (p *Partition) advanceHW(offset int64) {
	p.hwMu.Lock()
	defer p.hwMu.Unlock()
	if offset <= p.hw.Load() {
		return
	}
	if invariants.Enabled {
		p.checkHighWatermark(offset)
	}
	p.hw.Store(offset)
	close(p.hwChanged)
	p.hwChanged = make(chan struct{})
	p.watched.Store(false)
}

// Watch returns a channel closed at the next high watermark change.
func (p *Partition) Watch() <-chan struct{} {
	p.hwMu.Lock()
	defer p.hwMu.Unlock()
	p.watched.Store(true)
	return p.hwChanged
}

// WaitHW blocks until the high watermark reaches offset, the partition
// fails, or ctx ends.
func (p *Partition) WaitHW(ctx context.Context, offset int64) error {
	for {
		ch := p.Watch()
		if p.failure.Load() != nil {
			return kerr.KafkaStorageError
		}
		if p.hw.Load() >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return kerr.RequestTimedOut
		}
	}
}

func (p *Partition) HighWatermark() int64 { return p.hw.Load() }

func (p *Partition) Close() error {
	p.stopSync()
	<-p.syncDone
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	if p.failure.Load() == nil {
		err = p.log.Sync()
		if err == nil {
			err = p.saveProducers(p.log.EndOffset())
		}
	}
	if cerr := p.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// SetLogConfig applies a topic's changed config to the log.
func (p *Partition) SetLogConfig(cfg wlog.Config) error { return p.log.SetConfig(cfg) }

// WaitSyncerDone waits until the partition's fsync goroutine has ended,
// after the context given to Open ended: a broker abandoned as by a power
// cut (Broker.Abandon) closes nothing, but leaves no goroutine behind.
func (p *Partition) WaitSyncerDone() { <-p.syncDone }

// Delete closes the partition and removes its data.
func (p *Partition) Delete() error {
	p.stopSync()
	<-p.syncDone
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Delete()
}
