package broker

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/replica/fetcher"
)

// A partition's state (its log, producer state, high watermark, role and
// acks=all waiters) is broker/partition's; this file opens one with what
// it takes from the broker.

// openPartition opens (creating if new) this broker's replica of one
// partition of t. It starts as a replica that leads nothing; the
// reconciler sets its role.
func (b *Broker) openPartition(t *metadata.Topic, index int32) (*partition.Partition, error) {
	dir := filepath.Join(b.cfg.DataDir, t.Name+"-"+strconv.Itoa(int(index)))
	if err := b.claimPartitionDir(dir, t.ID); err != nil {
		return nil, fmt.Errorf("partition %s-%d: %w", t.Name, index, err)
	}
	cfg := partition.Config{
		Topic: t.Name, Index: index, TopicID: [16]byte(t.ID), Dir: dir,
		Log:                   b.logConfig(t.Overrides),
		NodeID:                b.cfg.NodeID,
		FsyncAcksAll:          b.cfg.FsyncAcksAll,
		FlushIntervalMessages: b.cfg.FlushIntervalMessages,
		ReplicaLagTimeMax:     b.cfg.ReplicaLagTimeMax,
		RequireVerification:   b.txnVerification(),
		Defects: partition.Defects{
			ForgetProducers: b.cfg.Defects.ForgetProducers, EarlyHighWatermark: b.cfg.Defects.EarlyHighWatermark,
			FetchSkipsBatch: b.cfg.Defects.FetchSkipsBatch, Replica: b.cfg.Defects.Replica,
		},
	}
	deps := partition.Deps{
		FS: b.fs, Clock: b.clock, ReplicaTime: b.replicaTime, Logger: b.log,
		Fetchers: b.fetchers, Alters: b.alters,
		Breach: func(name, detail string) { b.breach(name, "%s", detail) },
	}
	if b.background != nil { // a nil *lowprio.Pool must stay a nil interface
		deps.Background = b.background
	}
	return partition.Open(b.ctx, cfg, deps)
}

// logConfig builds the log settings from a topic's effective config.
func (b *Broker) logConfig(overrides map[string]string) wlog.Config {
	return wlog.Config{
		SegmentBytes:       b.topicConfigInt(overrides, "segment.bytes"),
		SegmentMs:          time.Duration(b.topicConfigInt(overrides, "segment.ms")) * time.Millisecond,
		IndexIntervalBytes: int(b.topicConfigInt(overrides, "index.interval.bytes")),
		DropBehindBytes:    b.cfg.DropBehindBytes,
		PreallocateBytes:   segmentPreallocateBytes,
		CleanShutdown:      true,
		Defects: wlog.Defects{OverlapOffsets: b.cfg.Defects.OverlapOffsets, KeepTornTail: b.cfg.Defects.KeepTornTail,
			CompactKeepsFirst: b.cfg.Defects.CompactKeepsFirst},
	}
}

// segmentPreallocateBytes is the largest step in which an active segment's
// disk blocks are reserved ahead of its end (broker/log.Config): on ext4 an
// append into reserved blocks skips the per-block delayed-allocation work,
// which was about a fifth of the broker's CPU at 1 KiB records. Steps are
// never larger than what the segment holds, so a quiet partition reserves
// 64 KiB, and what is left is released when the segment rolls.
const segmentPreallocateBytes = 64 << 20

// replicaFailed hears from the fetchers of a followed partition whose
// storage failed: it goes offline, as after a failed append.
func (b *Broker) replicaFailed(tp fetcher.TopicPartition, err error) {
	if p := b.topicByID(tp.TopicID).partition(tp.Partition); p != nil {
		p.Fail(err)
	}
}
