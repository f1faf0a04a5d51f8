package partition

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// A partition without a broker: memfs, a manual clock, no fetchers and no
// controller (an ISR change it proposes goes nowhere), node 1.

const testNode = 1

// testPartition is a partition openTest opened; it is closed at the end
// of the test unless crash or close was called.
type testPartition struct {
	*Partition
	t      testing.TB
	cancel context.CancelFunc
	closed bool
}

// testConfig is t-0 in /data/t-0, led by testNode, with segments of
// segmentBytes (0: the log's default) and fsync-on-ack.
func testConfig(segmentBytes int64) Config {
	return Config{
		Topic: "t", Index: 0, TopicID: [16]byte{1}, Dir: "/data/t-0",
		Log:               wlog.Config{SegmentBytes: segmentBytes, CleanShutdown: true},
		NodeID:            testNode,
		FsyncAcksAll:      true,
		ReplicaLagTimeMax: 30 * time.Second,
	}
}

// openTest opens a partition on fs with cfg and deps (FS, Clock and a
// discarding Logger are set here).
func openTest(t testing.TB, fs *memfs.FS, clock env.Clock, cfg Config, deps Deps) *testPartition {
	t.Helper()
	deps.FS, deps.Clock, deps.ReplicaTime = fs, clock, env.NewSteadyClock(clock)
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Open(ctx, cfg, deps)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	tp := &testPartition{Partition: p, t: t, cancel: cancel}
	t.Cleanup(func() {
		if !tp.closed {
			tp.closed = true
			if err := p.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			cancel()
		}
	})
	return tp
}

// crash stops the partition as a power cut would: its syncer ends, and
// nothing is synced or closed.
func (p *testPartition) crash() {
	p.closed = true
	p.cancel()
	p.WaitSyncerDone()
}

// close closes the partition cleanly.
func (p *testPartition) close() {
	p.t.Helper()
	p.closed = true
	if err := p.Close(); err != nil {
		p.t.Fatal(err)
	}
	p.cancel()
}

// assignment is an assignment led by this node in epoch, with isr as
// replicas and ISR.
func assignment(epoch int32, isr ...int32) replica.Assignment {
	return replica.Assignment{Leader: testNode, LeaderEpoch: epoch, PartitionEpoch: epoch, Replicas: isr, ISR: isr}
}

// lead makes the partition lead a.
func (p *testPartition) lead(a replica.Assignment) {
	p.SetRole(reconcile.Lead, Role{Active: true, Assignment: a, MinInsync: 1})
}

// appendValues appends one batch of values (idempotent for producer pid
// at seq when pid > 0) and fails the test on an error.
func (p *testPartition) appendValues(pid int64, seq int32, values ...string) AppendResult {
	p.t.Helper()
	raw := make([][]byte, len(values))
	for i, v := range values {
		raw[i] = []byte(v)
	}
	opts := recordtest.Options{}
	if pid > 0 {
		opts = recordtest.Options{Idempotent: true, ProducerID: pid, BaseSequence: seq}
	}
	batch, err := record.Parse(recordtest.Batch(opts, raw...))
	if err != nil {
		p.t.Fatal(err)
	}
	res := p.Append(&batch, false, true)
	if res.Err != nil {
		p.t.Fatalf("append: %v (%s)", res.Err, res.Reason)
	}
	return res
}

// waitHW waits (10s of real time at most) until the high watermark
// reaches offset.
func (p *testPartition) waitHW(offset int64) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitHW(ctx, offset); err != nil {
		p.t.Fatalf("high watermark %d, want %d: %v", p.HighWatermark(), offset, err)
	}
}

// testClock is a manual clock at a fixed date.
func testClock() *env.ManualClock {
	return env.NewManualClock(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
}
