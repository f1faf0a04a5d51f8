package broker

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/partition"
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
// is compacted (broker/partition does the work on the log). A partition
// that failed is left alone.
func (b *Broker) maintain(ctx context.Context, t *topic, p *partition.Partition) {
	if p.Err() != nil {
		return
	}
	deletes, compacts := b.cleanupPolicy(t)
	policy := wlog.RetentionPolicy{RetentionMs: -1, RetentionBytes: -1}
	if deletes {
		policy.RetentionMs = b.topicConfigInt(t.overrides(), "retention.ms")
		policy.RetentionBytes = b.topicConfigInt(t.overrides(), "retention.bytes")
	}
	if !p.EnforceRetention(policy) {
		return
	}
	if compacts && b.cfg.LogCleanerEnable {
		p.Clean(ctx, b.cleanConfig(t))
	}
}

// cleanConfig builds a pass's settings from the topic's configs; the
// partition adds its high watermark and producer state (Partition.Clean).
func (b *Broker) cleanConfig(t *topic) wlog.CleanConfig {
	ratioStr, _ := b.effectiveTopicConfig(t.overrides(), "min.cleanable.dirty.ratio")
	ratio, _ := strconv.ParseFloat(ratioStr, 64) // validated when set
	return wlog.CleanConfig{
		MinDirtyRatio:    ratio,
		MinCompactionLag: millis(b.topicConfigInt(t.overrides(), "min.compaction.lag.ms")),
		DeleteRetention:  millis(b.topicConfigInt(t.overrides(), "delete.retention.ms")),
	}
}

// millis converts a config in ms, saturating rather than overflowing.
func millis(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// deleteRecords is DeleteRecords on one partition: it moves the log start
// offset to offset (-1: the high watermark), durably, and returns the new
// start (Kafka's low watermark). An offset above the high watermark, or
// negative, is OFFSET_OUT_OF_RANGE; a topic that does not delete
// (cleanup.policy=compact) answers POLICY_VIOLATION, as Kafka does.
func (b *Broker) deleteRecords(t *topic, p *partition.Partition, offset int64) (int64, *kerr.Error) {
	if p.Err() != nil {
		return -1, kerr.KafkaStorageError
	}
	if deletes, _ := b.cleanupPolicy(t); !deletes {
		return -1, kerr.PolicyViolation
	}
	return p.DeleteRecords(offset)
}
