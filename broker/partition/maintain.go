package partition

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	wlog "github.com/weir-dev/weir/broker/log"
)

// A partition's side of log maintenance: retention, cleaning and
// DeleteRecords on its log (the broker's loop decides when and with which
// topic configs). Nothing past the high watermark is deleted or cleaned.
// A move of the log start offset also drops the producers whose batches
// are all below it, the producer state snapshots below it and the
// leader-epoch cache's entries below it.

// EnforceRetention deletes the segments policy says to, never past the
// high watermark (policy.MaxOffset is set here). A partition that failed is
// left alone; an I/O error on the log's write path fails it. It reports
// whether the partition is fit for more maintenance (a cleaning pass).
func (p *Partition) EnforceRetention(policy wlog.RetentionPolicy) bool {
	if p.failure.Load() != nil {
		return false
	}
	policy.MaxOffset = p.HighWatermark()
	d, err := p.log.EnforceRetention(policy)
	if err != nil {
		p.maintenanceFailed("retention", err)
		return false
	}
	if d.Segments > 0 {
		p.logger.Info("retention deleted segments", "topic", p.topic, "partition", p.index, "segments", d.Segments, "bytes", d.Bytes, "log_start_offset", d.StartOffset)
		p.startMoved(d.StartOffset)
	}
	return true
}

// Clean runs one cleaning pass on the partition's log, never past the
// high watermark, keeping each producer's last batch, and every tombstone
// while a follower of this leader catches up (cfg.MaxOffset,
// cfg.KeepProducerBatch and cfg.KeepTombstones are set here; see
// replica.Leader.FollowerCatchingUp).
func (p *Partition) Clean(ctx context.Context, cfg wlog.CleanConfig) {
	cfg.MaxOffset = p.HighWatermark()
	cfg.KeepProducerBatch = p.lastBatchesOfProducers()
	cfg.KeepTombstones = p.followerCatchingUp()
	st, err := p.log.Clean(ctx, cfg)
	switch {
	case err != nil:
		p.maintenanceFailed("cleaning", err)
	case st.Ran && !st.Aborted:
		p.logger.Info("cleaned log", "topic", p.topic, "partition", p.index, "segments", st.Segments, "bytes_in", st.BytesIn, "bytes_out", st.BytesOut,
			"records_read", st.RecordsRead, "records_kept", st.RecordsKept, "dirty_ratio", st.DirtyRatio,
			"tombstones_removed", st.TombstonesRemoved, "keeping_tombstones", cfg.KeepTombstones)
	}
}

// followerCatchingUp: this replica leads, and a follower outside the ISR
// fetched from it lately (replica.Leader.FollowerCatchingUp).
func (p *Partition) followerCatchingUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rep.leader != nil && p.rep.leader.FollowerCatchingUp(p.replicaTime.Now())
}

// maintenanceFailed reports a retention or cleaning error. If the log now
// refuses writes (a write-path I/O error) the partition goes offline, as
// after a failed append; otherwise (a segment the cleaner could not read)
// the log is left as it is and the next round tries again.
func (p *Partition) maintenanceFailed(what string, err error) {
	if errors.Is(err, wlog.ErrClosed) {
		return // the partition is being closed or deleted
	}
	if p.log.Err() != nil {
		p.Fail(err)
		return
	}
	p.logger.Warn("log maintenance failed; will retry", "what", what, "topic", p.topic, "partition", p.index, "err", err)
}

// lastBatchesOfProducers returns the cleaner's KeepProducerBatch: whether a
// batch is the last one the producer state holds for its producer, so that
// the producer's sequence survives a restart. It answers from a copy taken
// now: the cleaner holds the log's maintenance lock, and taking the
// partition's lock under it could deadlock with a close or delete, which
// take them the other way round. A producer that appends during the pass
// has its new batch above what the pass cleans, so keeping its older last
// batch as well costs one empty batch header.
func (p *Partition) lastBatchesOfProducers() func(producerID, lastOffset int64) bool {
	last := p.ProducerLastOffsets()
	return func(producerID, lastOffset int64) bool {
		o, ok := last[producerID]
		return ok && o == lastOffset
	}
}

// ProducerLastOffsets maps each producer the partition knows to the last
// offset of its newest batch.
func (p *Partition) ProducerLastOffsets() map[int64]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.producers.LastOffsets()
}

// DeleteRecords moves the log start offset to offset (-1: the high
// watermark), durably, and returns the new start (Kafka's low watermark).
// An offset above the high watermark, or negative, is OFFSET_OUT_OF_RANGE.
// The caller checks the topic's cleanup.policy.
func (p *Partition) DeleteRecords(offset int64) (int64, *kerr.Error) {
	if p.failure.Load() != nil {
		return -1, kerr.KafkaStorageError
	}
	hw := p.HighWatermark()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, kerr.OffsetOutOfRange
	}
	start, err := p.log.AdvanceStartOffset(offset)
	if err != nil {
		p.maintenanceFailed("delete records", err)
		return -1, kerr.KafkaStorageError
	}
	p.startMoved(start)
	return start, nil
}

// startMoved follows the log start offset: producers whose every batch is
// below it are forgotten (as a restart replaying the log from there would)
// and producer state snapshots below it, which a start could never use
// again, are removed; the leader-epoch cache starts there too.
func (p *Partition) startMoved(start int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.producers.DropBefore(start)
	if err := p.rep.epochs.TruncateFromStart(start); err != nil {
		p.logger.Warn("trimming the leader-epoch checkpoint to the log start", "topic", p.topic, "partition", p.index, "err", err)
	}
	offsets, err := p.SnapshotOffsets()
	if err != nil {
		p.logger.Warn("listing producer state snapshots", "topic", p.topic, "partition", p.index, "err", err)
		return
	}
	for _, o := range offsets {
		if o < start {
			if err := p.fs.Remove(p.snapshotPath(o)); err != nil {
				p.logger.Warn("removing a producer state snapshot below the log start", "topic", p.topic, "partition", p.index, "offset", o, "err", err)
			}
		}
	}
}
