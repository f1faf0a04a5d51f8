package broker

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// TestLogMaintenanceOnTheBrokersClock drives the maintenance loop with a
// ManualClock: nothing happens before log.retention.check.interval.ms has
// passed on the broker's clock; then retention deletes the old segments,
// the producers and producer state snapshots below the new start go, and
// a compacted topic is cleaned.
func TestLogMaintenanceOnTheBrokersClock(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = "/data"
	cfg.RetentionCheckInterval = time.Minute
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := env.NewManualClock(now)
	b, err := Open(cfg, Deps{FS: memfs.New(), Net: env.OSNet{}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	small := map[string]string{"segment.bytes": "300", "retention.ms": "3600000"}
	compact := map[string]string{"segment.bytes": "300", "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}
	for name, configs := range map[string]map[string]string{"old": small, "table": compact} {
		mustCreateTopic(t, b, name, 1, configs)
	}
	appendAll := func(p *partition.Partition, raws ...[]byte) {
		t.Helper()
		var end int64
		for _, raw := range raws {
			batch, err := record.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			res := p.Append(&batch, false, true)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			end = res.EndOffset
		}
		if err := p.WaitHW(t.Context(), end); err != nil {
			t.Fatal(err)
		}
	}
	// "old": a producer's batch and others two hours old, then new ones.
	old := b.topicByName("old").partition(0)
	twoHoursAgo := now.Add(-2 * time.Hour).UnixMilli()
	raws := [][]byte{recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: 5, TimestampMs: twoHoursAgo}, []byte("p"))}
	for range 12 {
		raws = append(raws, recordtest.Batch(recordtest.Options{TimestampMs: twoHoursAgo}, make([]byte, 60)))
	}
	for range 6 {
		raws = append(raws, recordtest.Batch(recordtest.Options{TimestampMs: now.UnixMilli()}, make([]byte, 60)))
	}
	appendAll(old, raws...)
	// "table": one key over and over.
	table := b.topicByName("table").partition(0)
	raws = nil
	for i := range 40 {
		raws = append(raws, recordtest.Keyed(recordtest.Options{TimestampMs: twoHoursAgo}, recordtest.KV{Key: []byte("k"), Value: []byte{byte(i)}}))
	}
	appendAll(table, raws...)
	tableSize := table.Size()

	// Just short of the interval: no round yet.
	clock.Advance(cfg.RetentionCheckInterval - time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if s := old.StartOffset(); s != 0 {
		t.Fatalf("start %d before the interval passed", s)
	}
	clock.Advance(time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for old.StartOffset() == 0 || table.Size() >= tableSize {
		if time.Now().After(deadline) {
			t.Fatalf("after the interval: start %d, compacted size %d of %d", old.StartOffset(), table.Size(), tableSize)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := old.StartOffset()
	if start > 13 {
		t.Fatalf("start %d: records within retention.ms were deleted", start)
	}
	_, known := old.Producer(5)
	if known {
		t.Error("producer 5, all of whose batches are below the start, is still known")
	}
	// DeleteRecords to the high watermark: the start passes every
	// snapshot, and they go.
	if snaps, _ := old.SnapshotOffsets(); len(snaps) == 0 || snaps[len(snaps)-1] >= old.HighWatermark() {
		t.Fatalf("snapshots %v: the test wants some below the high watermark %d", snaps, old.HighWatermark())
	}
	start, kerr := b.deleteRecords(b.topicByName("old"), old, -1)
	if kerr != nil || start != old.HighWatermark() {
		t.Fatalf("deleteRecords(-1) = %d, %v", start, kerr)
	}
	snapshots, err := old.SnapshotOffsets()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range snapshots {
		if o < start {
			t.Errorf("snapshot %d is below the start %d", o, start)
		}
	}
}
