package main

import (
	"encoding/json"
	"testing"

	"github.com/weir-dev/weir/broker"
)

// Compaction is the seed's on about a third of the seeds; --compaction
// on/off overrides it, and the cleaner's defect forces it. Its draw leaves
// every other parameter of a seed as it was.
func TestSeedDrawsCompaction(t *testing.T) {
	const n = 1500
	on := 0
	for s := uint64(1); s <= n; s++ {
		c := drawCompaction("seed", "", s)
		if c.on() {
			on++
			if c.CleanerIntervalMs <= 0 || c.InternalSegmentBytes <= 0 || c.SegmentBytes <= 0 || c.Keys <= 0 {
				t.Fatalf("seed %d: %+v", s, c)
			}
		}
		forced := drawCompaction("on", "", s)
		if !forced.on() || drawCompaction("off", "", s).on() || !drawCompaction("seed", broker.CompactKeepsFirst, s).on() {
			t.Fatalf("seed %d: --compaction on/off or the defect not obeyed", s)
		}
		if c.on() && c != forced {
			t.Fatalf("seed %d: --compaction on draws %+v, the seed %+v", s, forced, c)
		}
	}
	if on < n/4 || on > n*2/5 {
		t.Errorf("%d of %d seeds compacted, want about a third", on, n)
	}
	if checkCompactionMode("maybe") == nil || checkCompactionMode("seed") != nil {
		t.Error("--compaction values not checked")
	}
	if _, err := parseFlags([]string{"--compaction", "off", "--defect", broker.CompactKeepsFirst}); err == nil {
		t.Error("--compaction off accepted with the cleaner's defect")
	}
}

func TestCompactionLeavesOtherDrawsAlone(t *testing.T) {
	for s := uint64(1); s <= 40; s++ {
		var ps [2]params
		for i, mode := range []string{"on", "off"} {
			f, err := parseFlags([]string{"--seed", jsonInt(s), "--compaction", mode})
			if err != nil {
				t.Fatal(err)
			}
			ps[i] = deriveParams(f, scenarios["world"])
		}
		if !ps[0].World.Compaction.on() || ps[1].World.Compaction.on() {
			t.Fatalf("seed %d: compaction %+v with on, %+v with off", s, ps[0].World.Compaction, ps[1].World.Compaction)
		}
		ps[0].World.Compaction = compactionParams{}
		a, _ := json.Marshal(ps[0])
		b, _ := json.Marshal(ps[1])
		if string(a) != string(b) {
			t.Fatalf("seed %d: compaction changed other parameters:\n%s\n%s", s, a, b)
		}
	}
}

// A compaction run's brokers clean every few seconds with small internal
// segments, and its queue writes a compacted topic.
func TestCompactionConfigures(t *testing.T) {
	c := drawCompaction("on", "", 7)
	cfg := broker.DefaultConfig()
	configureCompaction(c, &cfg)
	if cfg.RetentionCheckInterval.Milliseconds() != c.CleanerIntervalMs || cfg.Groups.OffsetsTopicSegmentBytes != c.InternalSegmentBytes ||
		cfg.Txn.StateLogSegmentBytes != c.InternalSegmentBytes || cfg.TopicDefaults["delete.retention.ms"] == "" || cfg.TopicDefaults["min.cleanable.dirty.ratio"] == "" {
		t.Fatalf("configured %+v from %+v", cfg, c)
	}
	q := compactedConfig(c)
	if q == nil || q.TopicConfigs["segment.bytes"] == "" || q.Keys != c.Keys {
		t.Fatalf("compacted topic %+v from %+v", q, c)
	}
	if compactedConfig(compactionParams{}) != nil {
		t.Fatal("a run without compaction got a compacted topic")
	}
	before := broker.DefaultConfig()
	configureCompaction(compactionParams{}, &before)
	if before.RetentionCheckInterval != broker.DefaultRetentionCheckInterval {
		t.Fatal("a run without compaction changed the cleaner's interval")
	}
}

func jsonInt(n uint64) string { b, _ := json.Marshal(n); return string(b) }
