package broker

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	wlog "github.com/weir-dev/weir/broker/log"
)

// Log maintenance: Kafka's retention check (log.retention.check.interval.ms)
// and log cleaner, in one loop per broker. Every interval, on the broker's
// clock, it visits each partition in topic order: a topic whose
// cleanup.policy has delete loses its segments past retention.ms and
// retention.bytes; one whose policy has compact gets a cleaning pass (when
// log.cleaner.enable); every topic loses the segments wholly below its log
// start offset. Nothing past the high watermark is deleted or cleaned. A
// move of the log start offset (here or by DeleteRecords) also drops the
// producers whose batches are all below it and the producer state snapshots
// below it. The loop ends with the broker's context; a pass under way stops
// between batches.

// runLogMaintenance is the loop; one per broker.
func (b *Broker) runLogMaintenance() {
	defer b.wg.Done()
	interval := b.cfg.RetentionCheckInterval
	if interval <= 0 {
		interval = DefaultRetentionCheckInterval
	}
	for {
		t := b.clock.NewTimer(interval)
		select {
		case <-b.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		for _, t := range b.sortedTopics() {
			for _, p := range t.partitions {
				if p == nil {
					continue // a replica on another broker
				}
				if b.ctx.Err() != nil {
					return
				}
				b.maintain(b.ctx, t, p)
			}
		}
	}
}

// cleanupPolicy reads a topic's cleanup.policy.
func (b *Broker) cleanupPolicy(t *topic) (deletes, compacts bool) {
	v, _ := b.effectiveTopicConfig(t.overrides(), "cleanup.policy")
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "delete":
			deletes = true
		case "compact":
			compacts = true
		}
	}
	return deletes, compacts
}

// maintain enforces retention on one partition and cleans it if its topic
// is compacted. A partition that failed is left alone; an I/O error on the
// log's write path fails it, as an append's would.
func (b *Broker) maintain(ctx context.Context, t *topic, p *partition) {
	if p.failure.Load() != nil {
		return
	}
	deletes, compacts := b.cleanupPolicy(t)
	policy := wlog.RetentionPolicy{RetentionMs: -1, RetentionBytes: -1, MaxOffset: p.highWatermark()}
	if deletes {
		policy.RetentionMs = b.topicConfigInt(t.overrides(), "retention.ms")
		policy.RetentionBytes = b.topicConfigInt(t.overrides(), "retention.bytes")
	}
	d, err := p.log.EnforceRetention(policy)
	if err != nil {
		p.maintenanceFailed("retention", err)
		return
	}
	if d.Segments > 0 {
		b.log.Info("retention deleted segments", "topic", p.topic, "partition", p.index, "segments", d.Segments, "bytes", d.Bytes, "log_start_offset", d.StartOffset)
		p.startMoved(d.StartOffset)
	}
	if compacts && b.cfg.LogCleanerEnable {
		p.clean(ctx, b.cleanConfig(t, p))
	}
}

// cleanConfig builds a pass's settings from the topic's configs and the
// partition's producer state.
func (b *Broker) cleanConfig(t *topic, p *partition) wlog.CleanConfig {
	ratioStr, _ := b.effectiveTopicConfig(t.overrides(), "min.cleanable.dirty.ratio")
	ratio, _ := strconv.ParseFloat(ratioStr, 64) // validated when set
	return wlog.CleanConfig{
		MinDirtyRatio:     ratio,
		MinCompactionLag:  millis(b.topicConfigInt(t.overrides(), "min.compaction.lag.ms")),
		DeleteRetention:   millis(b.topicConfigInt(t.overrides(), "delete.retention.ms")),
		MaxOffset:         p.highWatermark(),
		KeepProducerBatch: p.lastBatchesOfProducers(),
	}
}

// millis converts a config in ms, saturating rather than overflowing.
func millis(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// clean runs one cleaning pass on the partition's log.
func (p *partition) clean(ctx context.Context, cfg wlog.CleanConfig) {
	st, err := p.log.Clean(ctx, cfg)
	switch {
	case err != nil:
		p.maintenanceFailed("cleaning", err)
	case st.Ran && !st.Aborted:
		p.b.log.Info("cleaned log", "topic", p.topic, "partition", p.index, "segments", st.Segments, "bytes_in", st.BytesIn, "bytes_out", st.BytesOut,
			"records_read", st.RecordsRead, "records_kept", st.RecordsKept, "dirty_ratio", st.DirtyRatio)
	}
}

// maintenanceFailed reports a retention or cleaning error. If the log now
// refuses writes (a write-path I/O error) the partition goes offline, as
// after a failed append; otherwise (a segment the cleaner could not read)
// the log is left as it is and the next round tries again.
func (p *partition) maintenanceFailed(what string, err error) {
	if errors.Is(err, wlog.ErrClosed) {
		return // the partition is being closed or deleted
	}
	if p.log.Err() != nil {
		p.fail(err)
		return
	}
	p.b.log.Warn("log maintenance failed; will retry", "what", what, "topic", p.topic, "partition", p.index, "err", err)
}

// lastBatchesOfProducers returns the cleaner's KeepProducerBatch: whether a
// batch is the last one the producer state holds for its producer, so that
// the producer's sequence survives a restart. It answers from a copy taken
// now: the cleaner holds the log's maintenance lock, and taking the
// partition's lock under it could deadlock with a close or delete, which
// take them the other way round. A producer that appends during the pass
// has its new batch above what the pass cleans, so keeping its older last
// batch as well costs one empty batch header.
func (p *partition) lastBatchesOfProducers() func(producerID, lastOffset int64) bool {
	p.mu.Lock()
	last := p.producers.LastOffsets()
	p.mu.Unlock()
	return func(producerID, lastOffset int64) bool {
		o, ok := last[producerID]
		return ok && o == lastOffset
	}
}

// deleteRecords is DeleteRecords on one partition: it moves the log start
// offset to offset (-1: the high watermark), durably, and returns the new
// start (Kafka's low watermark). An offset above the high watermark, or
// negative, is OFFSET_OUT_OF_RANGE; a topic that does not delete
// (cleanup.policy=compact) answers POLICY_VIOLATION, as Kafka does.
func (p *partition) deleteRecords(t *topic, offset int64) (int64, *kerr.Error) {
	if p.failure.Load() != nil {
		return -1, kerr.KafkaStorageError
	}
	if deletes, _ := p.b.cleanupPolicy(t); !deletes {
		return -1, kerr.PolicyViolation
	}
	hw := p.highWatermark()
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
func (p *partition) startMoved(start int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.producers.DropBefore(start)
	if err := p.rep.epochs.TruncateFromStart(start); err != nil {
		p.b.log.Warn("trimming the leader-epoch checkpoint to the log start", "topic", p.topic, "partition", p.index, "err", err)
	}
	offsets, err := p.snapshotOffsets()
	if err != nil {
		p.b.log.Warn("listing producer state snapshots", "topic", p.topic, "partition", p.index, "err", err)
		return
	}
	for _, o := range offsets {
		if o < start {
			if err := p.b.fs.Remove(p.snapshotPath(o)); err != nil {
				p.b.log.Warn("removing a producer state snapshot below the log start", "topic", p.topic, "partition", p.index, "offset", o, "err", err)
			}
		}
	}
}
