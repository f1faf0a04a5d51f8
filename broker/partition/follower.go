package partition

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/fetcher"
)

// Both ends of a follower's fetch: replicaLog is the follower's partition
// as the fetcher writes it; ReadForFollower is the leader answering it.

// replicaLog is a followed partition as the fetcher sees it
// (fetcher.Partition): the log, the leader-epoch cache and the producer
// state, kept in step under the partition's mu. The fetcher calls it from
// one goroutine, never while the partition leads (Manager.Stop comes
// first).
type replicaLog struct{ p *Partition }

var _ fetcher.Partition = (*replicaLog)(nil)

// ReplicaLog is the partition as the replica fetchers write it while it
// follows (the fetcher.Partition SetRole hands them). Only the fetchers
// call it, and tests and benchmarks standing in for them.
func (p *Partition) ReplicaLog() fetcher.Partition { return p.rep.log }

func (r *replicaLog) StartOffset() int64   { return r.p.log.StartOffset() }
func (r *replicaLog) EndOffset() int64     { return r.p.log.EndOffset() }
func (r *replicaLog) DurableOffset() int64 { return r.p.local().Durable }
func (r *replicaLog) LatestEpoch() int32   { return r.p.rep.epochs.LatestEpoch() }

func (r *replicaLog) EndOffsetForEpoch(e int32) (int32, int64) {
	return r.p.rep.epochs.EndOffsetFor(e, r.p.log.EndOffset())
}

// Sync makes what the follower appended durable before it fetches past it
// (the leader counts its fetch offset as durable). Without fsync-on-ack
// the log end already counts, and nothing is synced.
func (r *replicaLog) Sync() error {
	if !r.p.cfg.FsyncAcksAll {
		return nil
	}
	return r.p.log.Sync()
}

// AppendReplicated appends the leader's batches as they are: each one's
// epoch goes into the epoch cache first, then the log keeps its bytes at
// its offsets, then the producer state learns it, so a retried batch is
// still recognised if this replica leads later. A batch that rolls the log
// has the producer state of everything below it saved first, as a leader's
// append does. Gaps between batches (a compacted leader log) are allowed
// in the log with one durable checkpoint write for them all.
func (r *replicaLog) AppendReplicated(batches []record.Batch) error {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if last := lastGap(p.log.EndOffset(), batches); last >= 0 {
		if err := p.log.AllowGapsBelow(last + 1); err != nil {
			return err
		}
	}
	for i := range batches {
		b := &batches[i]
		if err := p.rep.epochs.Assign(b.PartitionLeaderEpoch, b.FirstOffset); err != nil {
			return err
		}
		segments := p.log.Segments()
		if _, err := p.log.AppendReplicated(b.Raw); err != nil {
			return err
		}
		if p.log.Segments() > segments {
			if err := p.saveProducers(b.FirstOffset); err != nil {
				p.logger.Warn("writing a producer state snapshot failed; a restart will replay more of the log", "topic", p.topic, "partition", p.index, "err", err)
			}
		}
		p.producers.Replay(b)
	}
	// Ended transactions below the high watermark no longer hold the
	// last stable offset back (txn.go).
	p.producers.ForgetStable(p.HighWatermark())
	return nil
}

// lastGap returns the base offset of the last of batches that starts past
// the end of the one before it (the first: past end), or -1 if they are
// dense.
func lastGap(end int64, batches []record.Batch) int64 {
	last := int64(-1)
	for i := range batches {
		if batches[i].FirstOffset > end {
			last = batches[i].FirstOffset
		}
		end = batches[i].LastOffset() + 1
	}
	return last
}

// TruncateTo cuts a divergent suffix: the log (durably), then the epoch
// cache, then the producer state, rebuilt from the newest snapshot at or
// below the new end (loadProducers removes those above it first, so the
// log growing back past them cannot make them fit).
func (r *replicaLog) TruncateTo(offset int64) error {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	before := p.log.EndOffset()
	if err := p.log.TruncateTo(offset); err != nil {
		return err
	}
	if err := p.rep.epochs.TruncateFromEnd(offset); err != nil {
		return err
	}
	if p.log.EndOffset() == before {
		return nil
	}
	p.logger.Info("truncated a divergent log suffix", "topic", p.topic, "partition", p.index, "from", before, "to", p.log.EndOffset())
	if err := p.loadProducers(); err != nil {
		return fmt.Errorf("rebuilding producer state: %w", err)
	}
	return nil
}

// TruncateFullyAndStartAt restarts an empty log at the leader's log start:
// this follower lacks what the leader no longer has.
func (r *replicaLog) TruncateFullyAndStartAt(offset int64) error {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	if err := p.rep.epochs.Clear(); err != nil {
		return err
	}
	p.logger.Info("restarted the log at the leader's log start", "topic", p.topic, "partition", p.index, "offset", offset)
	return p.loadProducers()
}

// InheritTombstoneMark raises the log's tombstone mark to the leader's
// before the follower copies the leader's batches (or restarts at its
// start): it then lacks what the leader's log lacks.
func (r *replicaLog) InheritTombstoneMark(m replica.TombstoneMark) error {
	return r.p.log.InheritTombstoneMark(wlog.TombstoneMark{Below: m.Below, Gen: m.Gen})
}

// SetHighWatermark is the follower's high watermark, as its leader said.
func (r *replicaLog) SetHighWatermark(hw int64) { r.p.setHW(hw) }

// ReadForFollower answers one partition of a follower's Fetch on the
// leader: the follower's leader epoch and replica id are checked, then
// the epoch it last fetched (KIP-320: a diverging epoch is answered with
// no records), then records are read up to the log end, not the high
// watermark, and the fetch is recorded (the follower's log ends, durably,
// at its fetch offset), which may move the high watermark, add the
// follower to the ISR and complete acks. The log's tombstone mark goes
// with the records, read after them (fetcher.SetTombstoneMark): a read
// that lacks a tombstone the cleaner removed meanwhile comes with a mark
// past it. It returns the record bytes read; limit <= 0 reads none but
// still records the fetch.
func (p *Partition) ReadForFollower(replicaID int32, rp *kmsg.FetchRequestTopicPartition, limit int, sp *kmsg.FetchResponseTopicPartition) int {
	p.mu.Lock()
	l := p.rep.leader
	if l == nil {
		p.mu.Unlock()
		sp.ErrorCode = kerr.NotLeaderForPartition.Code
		return 0
	}
	start, end := p.log.StartOffset(), p.log.EndOffset()
	hw := l.HighWatermark()
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hw, hw, start
	if sp.ErrorCode = l.CheckFetch(replicaID, rp.CurrentLeaderEpoch); sp.ErrorCode != 0 {
		p.mu.Unlock()
		return 0
	}
	div := replica.CheckDiverging(p.rep.epochs, rp.LastFetchedEpoch, rp.FetchOffset, start, end)
	p.mu.Unlock()
	switch {
	case div.Code != 0:
		sp.ErrorCode = div.Code
		return 0
	case div.Diverging:
		sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = div.Epoch, div.EndOffset
		return 0
	}
	var data []byte
	if limit > 0 {
		var err error
		data, err = p.log.Read(rp.FetchOffset, limit)
		switch {
		case errors.Is(err, wlog.ErrOffsetOutOfRange):
			sp.ErrorCode = kerr.OffsetOutOfRange.Code
			return 0
		case err != nil:
			sp.ErrorCode = kerr.KafkaStorageError.Code
			p.logger.Error("replica fetch read failed", "topic", p.topic, "partition", p.index, "err", err)
			return 0
		}
	} else if rp.FetchOffset < start || rp.FetchOffset > end {
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
		return 0
	}
	p.mu.Lock()
	if p.rep.leader == l {
		p.applyLocked(l.RecordFetch(replicaID, rp.FetchOffset, end, p.local(), p.replicaTime.Now()))
		sp.HighWatermark = l.HighWatermark()
		sp.LastStableOffset = sp.HighWatermark
	}
	p.mu.Unlock()
	m := p.log.TombstoneMark()
	fetcher.SetTombstoneMark(sp, replica.TombstoneMark{Below: m.Below, Gen: m.Gen})
	if data != nil {
		sp.RecordBatches = data
	}
	return len(data)
}
