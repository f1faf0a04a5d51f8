package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/workloads/queue"
)

// seedStreamCompaction separates the draw of compaction from the parameter
// stream, so that every other parameter of a seed stays what it was before
// compaction was drawn.
const seedStreamCompaction = 0x7765_6972_636d_7074 // "weircmpt"

// compactionShare is the share of world seeds whose cleaner runs within
// the run (--compaction seed). A third: often enough that a 30-seed sweep
// has about ten such runs, which meet crashes, disk faults and elections
// while the cleaner works; rare enough that the rest of the sweep keeps
// the queue alone at its usual cost (the compacted mode adds a producer
// client and a consumer).
const compactionShare = 1.0 / 3

// compactionParams are a run's compaction settings: the brokers' cleaner
// interval (log.retention.check.interval.ms: Weir's cleaner runs in the
// retention loop), the internal topics' segment size, the cleaner's
// thresholds as broker defaults (they reach __consumer_offsets and
// __transaction_state, which set no such config), and the queue's
// compacted topic (queue.CompactedConfig).
type compactionParams struct {
	// CleanerIntervalMs is log.retention.check.interval.ms: how often each
	// broker runs retention and the cleaner (Kafka's 5 minutes otherwise,
	// which a 60 s run never reaches).
	CleanerIntervalMs int64 `json:"cleaner_interval_ms"`
	// InternalSegmentBytes is offsets.topic.segment.bytes and
	// transaction.state.log.segment.bytes (Kafka's 100 MiB otherwise, which
	// never roll in a run, and the cleaner cleans only rolled segments).
	InternalSegmentBytes int32 `json:"internal_segment_bytes"`
	// MinCleanableRatio and DeleteRetentionMs are the brokers'
	// log.cleaner.min.cleanable.ratio and log.cleaner.delete.retention.ms,
	// and the compacted topic's min.cleanable.dirty.ratio and
	// delete.retention.ms.
	MinCleanableRatio float64 `json:"min_cleanable_ratio"`
	DeleteRetentionMs int64   `json:"delete_retention_ms"`
	// SegmentBytes is the compacted topic's segment.bytes.
	SegmentBytes int64 `json:"segment_bytes"`
	// Keys, Rate and TombstoneShare shape the compacted topic's writes
	// (queue.CompactedConfig).
	Keys           int     `json:"keys"`
	Rate           float64 `json:"rate"`
	TombstoneShare float64 `json:"tombstone_share"`
}

// The values of --compaction.
var compactionModes = []string{"seed", "on", "off"}

func checkCompactionMode(mode string) error {
	for _, m := range compactionModes {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("--compaction %q: want seed, on or off", mode)
}

// drawCompaction decides a world run's compaction: --compaction on or off,
// else the seed, on compactionShare of the seeds, and always with the
// cleaner's planted defect. The settings are drawn whatever the mode, from
// their own stream, so that --compaction on gives a seed the settings it
// would have drawn.
func drawCompaction(mode, defect string, seed uint64) compactionParams {
	rng := rand.New(rand.NewPCG(seed, seedStreamCompaction))
	on := rng.Float64() < compactionShare
	c := compactionParams{
		// The cleaner runs 20 to 120 times in a 60 s run.
		CleanerIntervalMs:    []int64{500, 1000, 2000, 3000}[rng.IntN(4)],
		InternalSegmentBytes: []int32{2 << 10, 4 << 10, 16 << 10}[rng.IntN(3)],
		MinCleanableRatio:    []float64{0.01, 0.1, 0.5}[rng.IntN(3)],
		// Tombstones go within the run on most seeds.
		DeleteRetentionMs: []int64{1000, 5000, 20000, 86400000}[rng.IntN(4)],
		SegmentBytes:      []int64{1 << 10, 2 << 10, 4 << 10}[rng.IntN(3)],
		Keys:              []int{10, 20, 40}[rng.IntN(3)],
		Rate:              []float64{10, 20, 40}[rng.IntN(3)],
		TombstoneShare:    []float64{0.05, 0.15, 0.3}[rng.IntN(3)],
	}
	switch {
	case mode == "on" || broker.IsCompactionDefect(defect):
		return c
	case mode == "off" || !on:
		return compactionParams{}
	}
	return c
}

// on reports whether the run has compaction: the zero value has none.
func (c compactionParams) on() bool { return c.CleanerIntervalMs > 0 }

// configureCompaction applies a run's compaction settings to a broker's
// configuration.
func configureCompaction(c compactionParams, cfg *broker.Config) {
	if !c.on() {
		return
	}
	cfg.RetentionCheckInterval = time.Duration(c.CleanerIntervalMs) * time.Millisecond
	cfg.Groups.OffsetsTopicSegmentBytes = c.InternalSegmentBytes
	cfg.Txn.StateLogSegmentBytes = c.InternalSegmentBytes
	cfg.TopicDefaults["min.cleanable.dirty.ratio"] = strconv.FormatFloat(c.MinCleanableRatio, 'g', -1, 64)
	cfg.TopicDefaults["delete.retention.ms"] = strconv.FormatInt(c.DeleteRetentionMs, 10)
}

// compactedConfig is the queue's compacted topic for a run, nil without
// compaction.
func compactedConfig(c compactionParams) *queue.CompactedConfig {
	if !c.on() {
		return nil
	}
	return &queue.CompactedConfig{
		TopicConfigs: map[string]string{
			"segment.bytes":             strconv.FormatInt(c.SegmentBytes, 10),
			"min.cleanable.dirty.ratio": strconv.FormatFloat(c.MinCleanableRatio, 'g', -1, 64),
			"delete.retention.ms":       strconv.FormatInt(c.DeleteRetentionMs, 10),
		},
		Keys:           c.Keys,
		Rate:           c.Rate,
		TombstoneShare: c.TombstoneShare,
	}
}
