package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
// Append schedules a group-committed fsync so data becomes visible
// promptly. Without FsyncAcksAll the leader's log end counts, as in Kafka.
// On a follower it is what the leader last said, capped by the local log.
type Partition struct {
	cfg        Config
	fs         env.FS
	clock      env.Clock
	logger     *slog.Logger
	background Background
	fetchers   Fetchers
	alters     AlterProposer
	breachHook func(name, detail string)

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
		cfg: cfg, fs: deps.FS, clock: deps.Clock, logger: logger,
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

// Producer state snapshots (txn.PartitionProducers.AppendSnapshot), as in
// Kafka: <offset>.snapshot in the partition's directory holds the producer
// state of every batch below offset (20 digits, like segment names). One is
// written when a segment rolls (the rolled segment is synced by then) and
// one at a clean shutdown (the log is synced first), so a start replays the
// log from the newest snapshot that fits it, at most a segment after a
// crash and nothing after a clean shutdown, instead of from its start.
const snapshotSuffix = ".snapshot"

// keptSnapshots: the newest snapshots kept; older ones are removed when a
// new one is written. Two, so that a damaged newest one still leaves one.
const keptSnapshots = 2

// snapshotReads is how many times a snapshot is read before it is taken
// for corrupt rather than flipped on the way from the disk.
const snapshotReads = 5

// maxSnapshotBytes bounds a snapshot read: about 5 million producers.
const maxSnapshotBytes = 1 << 30

func (p *Partition) snapshotPath(offset int64) string {
	return filepath.Join(p.dir, fmt.Sprintf("%020d%s", offset, snapshotSuffix))
}

// SnapshotOffsets lists the offsets of the partition's producer state
// snapshots, newest first.
func (p *Partition) SnapshotOffsets() ([]int64, error) {
	names, err := p.fs.List(p.dir)
	if err != nil {
		return nil, err
	}
	var offsets []int64
	for _, name := range names {
		digits, ok := strings.CutSuffix(name, snapshotSuffix)
		if !ok || len(digits) != 20 {
			continue
		}
		if o, err := strconv.ParseInt(digits, 10, 64); err == nil && o >= 0 {
			offsets = append(offsets, o)
		}
	}
	slices.Sort(offsets)
	slices.Reverse(offsets)
	return offsets, nil
}

// loadProducers rebuilds the producer state at open: from the newest
// snapshot that fits the log (its offset between the log's start and end)
// and reads back whole, then by replaying the log from there; with none,
// from the log's start. It records where the replay started.
//
// A snapshot is right while the batches below its offset are the ones it
// saw: they were synced when it was written, and a crash cuts only unsynced
// batches. Recovery may still cut below it (a batch corrupt on disk): such
// a snapshot no longer fits, and is removed durably here, before anything
// is appended, so that the log growing past it again cannot make it fit.
// A follower's truncation (replicaLog.TruncateTo) rebuilds its producer
// state here too, after cutting its log.
func (p *Partition) loadProducers() error {
	if p.cfg.Defects.ForgetProducers {
		p.producers.Reset() // DEFECT: the producers' sequence numbers are gone
		p.replayedFrom = p.log.EndOffset()
		return nil
	}
	offsets, err := p.SnapshotOffsets()
	if err != nil {
		return err
	}
	start, end := p.log.StartOffset(), p.log.EndOffset()
	removed := false
	for _, o := range offsets {
		if o > end {
			if err := p.fs.Remove(p.snapshotPath(o)); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		if err := p.fs.SyncDir(p.dir); err != nil {
			return err
		}
	}
	from := start
	for _, o := range offsets {
		if o > end || o < start {
			continue
		}
		var upTo int64
		err := env.ReadFileVerified(p.fs, p.snapshotPath(o), maxSnapshotBytes, snapshotReads, func(data []byte) (err error) {
			upTo, err = p.producers.RestoreSnapshot(data)
			if err == nil && upTo != o {
				err = fmt.Errorf("%w: covers up to %d, named %d", txn.ErrSnapshotCorrupt, upTo, o)
			}
			return err
		})
		if err == nil {
			from = o
			break
		}
		p.logger.Warn("producer state snapshot unreadable; trying an older one", "topic", p.topic, "partition", p.index, "offset", o, "err", err)
	}
	if from == start {
		p.producers.Reset()
	}
	// A read that fails its CRC here is a transient fault (recovery has
	// just validated these bytes): start the replay over a few times
	// before giving up.
	snapshot := p.producers.AppendSnapshot(nil, from)
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			if _, err := p.producers.RestoreSnapshot(snapshot); err != nil {
				return err
			}
		}
		err = p.log.Batches(from, func(batch *record.Batch) error {
			p.producers.Replay(batch)
			return nil
		})
		if !errors.Is(err, record.ErrCorrupt) {
			break
		}
	}
	p.replayedFrom = from
	return err
}

// saveProducers writes the snapshot of the producer state, which must hold
// exactly the batches below upTo, all of them synced, and removes all but
// the keptSnapshots newest. An empty log needs none. Call with mu held.
func (p *Partition) saveProducers(upTo int64) error {
	if upTo == p.log.StartOffset() {
		return nil
	}
	if err := env.WriteFileAtomic(p.fs, p.snapshotPath(upTo), p.producers.AppendSnapshot(nil, upTo)); err != nil {
		return err
	}
	offsets, err := p.SnapshotOffsets()
	if err != nil {
		return err
	}
	for _, o := range offsets[min(keptSnapshots, len(offsets)):] {
		if err := p.fs.Remove(p.snapshotPath(o)); err != nil {
			return err
		}
	}
	return nil
}

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
