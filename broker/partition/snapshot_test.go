package partition

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/txn"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// TestProducerSnapshotsAtRollAndCrash: each segment roll writes a snapshot
// of the producer state at the new segment's base, the newest two are kept,
// and a start after a crash (no clean shutdown) replays from the newest
// one that reads back whole, ending with the state it had before the crash.
// Snapshots past the log's end are removed at the start.
func TestProducerSnapshotsAtRollAndCrash(t *testing.T) {
	fs := memfs.New()
	clock := testClock()
	open := func() *testPartition {
		p := openTest(t, fs, clock, testConfig(2048), Deps{})
		p.lead(assignment(0, testNode))
		return p
	}
	p := open()
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := map[int64]int32{}
	for range 60 {
		pid := int64(1 + rng.IntN(4))
		n := 1 + rng.IntN(4)
		values := make([][]byte, n)
		for i := range values {
			values[i] = fmt.Appendf(nil, "value %d of producer %d", seqs[pid]+int32(i), pid)
		}
		batch, err := record.Parse(recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: pid, BaseSequence: seqs[pid]}, values...))
		if err != nil {
			t.Fatal(err)
		}
		if res := p.Append(&batch, false, false); res.Err != nil {
			t.Fatalf("append: %v (%s)", res.Err, res.Reason)
		}
		seqs[pid] += int32(n)
	}
	if p.log.Segments() < 4 {
		t.Fatalf("%d segments; the test wants several rolls", p.log.Segments())
	}
	if err := p.log.Sync(); err != nil {
		t.Fatal(err)
	}
	want := map[int64]txn.Producer{}
	for pid := range seqs {
		pr, _ := p.producers.Producer(pid)
		want[pid] = pr
	}
	offsets, err := p.SnapshotOffsets()
	if err != nil {
		t.Fatal(err)
	}
	if len(offsets) != keptSnapshots {
		t.Fatalf("snapshots at %v, want the newest %d", offsets, keptSnapshots)
	}
	newest := offsets[0]
	end := p.EndOffset()
	p.crash()

	// A snapshot past the end (as if recovery had cut the log below it).
	if err := env.WriteFileAtomic(fs, filepath.Join("/data/t-0", fmt.Sprintf("%020d.snapshot", end+100)), nil); err != nil {
		t.Fatal(err)
	}
	check := func(wantFrom int64) {
		t.Helper()
		p := open()
		defer p.crash()
		if p.replayedFrom != wantFrom {
			t.Fatalf("replayed from %d, want %d", p.replayedFrom, wantFrom)
		}
		for pid, w := range want {
			got, _ := p.producers.Producer(pid)
			if got.Epoch != w.Epoch || !slices.Equal(got.Batches, w.Batches) {
				t.Fatalf("producer %d after restart: %+v, want %+v", pid, got, w)
			}
		}
		offsets, _ := p.SnapshotOffsets()
		if slices.Contains(offsets, end+100) {
			t.Fatalf("the snapshot past the log end is still there: %v", offsets)
		}
	}
	check(newest)

	// The newest damaged: the start falls back to the one before.
	if err := env.WriteFileSync(fs, filepath.Join("/data/t-0", fmt.Sprintf("%020d.snapshot", newest)), []byte("not a snapshot")); err != nil {
		t.Fatal(err)
	}
	check(offsets[1])
}
