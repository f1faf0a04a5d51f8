package log

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env/memfs"
)

// leaderBatch is a batch as a leader stored it: at base, stamped with a
// partition leader epoch (outside the CRC).
func leaderBatch(n int, base int64, epoch int32) []byte {
	raw := batch(n, 10, base)
	record.SetBaseOffset(raw, base)
	record.SetLeaderEpoch(raw, epoch)
	return raw
}

// A follower's log copies the leader's batches byte for byte at the
// leader's offsets, across segment rolls, and survives a reopen.
func TestAppendReplicatedKeepsOffsetsAndBytes(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, Config{SegmentBytes: 400})
		var want [][]byte
		next := int64(0)
		for i := range 12 {
			raw := leaderBatch(1+i%3, next, int32(i/4))
			sent := bytes.Clone(raw)
			end, err := l.AppendReplicated(raw)
			if err != nil {
				t.Fatalf("AppendReplicated at %d: %v", next, err)
			}
			if !bytes.Equal(raw, sent) {
				t.Fatalf("AppendReplicated changed the caller's bytes")
			}
			next += int64(1 + i%3)
			if end != next || l.EndOffset() != next {
				t.Fatalf("end %d, EndOffset %d, want %d", end, l.EndOffset(), next)
			}
			want = append(want, sent)
		}
		if l.Segments() < 2 {
			t.Fatalf("want the appends to roll segments, have %d", l.Segments())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, fs, dir, Config{SegmentBytes: 400})
		defer l.Close()
		i := 0
		err := l.Batches(0, func(b *record.Batch) error {
			if !bytes.Equal(b.Raw, want[i]) {
				t.Fatalf("batch %d differs from the leader's after reopen", i)
			}
			if b.PartitionLeaderEpoch != int32(i/4) {
				t.Fatalf("batch %d has leader epoch %d, want %d", i, b.PartitionLeaderEpoch, i/4)
			}
			i++
			return nil
		})
		if err != nil || i != len(want) {
			t.Fatalf("Batches: %d of %d, %v", i, len(want), err)
		}
	})
}

// A batch that would overwrite an offset is refused and leaves the log as
// it was; so is one past a gap of more than 2^32 offsets.
func TestAppendReplicatedRefusesOverlap(t *testing.T) {
	l := mustOpen(t, memfs.New(), "/d", Config{})
	defer l.Close()
	if _, err := l.AppendReplicated(leaderBatch(3, 0, 0)); err != nil {
		t.Fatal(err)
	}
	for _, base := range []int64{0, 1, 2, 4 + math.MaxUint32} {
		_, err := l.AppendReplicated(leaderBatch(1, base, 0))
		if !errors.Is(err, ErrUnexpectedOffset) {
			t.Fatalf("batch at %d on a log ending at 3: err %v, want ErrUnexpectedOffset", base, err)
		}
	}
	if l.EndOffset() != 3 || l.Size() != int64(len(leaderBatch(3, 0, 0))) {
		t.Fatalf("a refused batch changed the log: end %d size %d", l.EndOffset(), l.Size())
	}
	if _, err := l.AppendReplicated([]byte{1, 2, 3}); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("short bytes: %v", err)
	}
	neg := leaderBatch(1, 3, 0)
	record.SetBaseOffset(neg, -1)
	if _, err := l.AppendReplicated(neg); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("negative base: %v", err)
	}
}

// TestAppendReplicatedCopiesCompactionGaps: a follower copies a compacted
// leader's log as it is, gaps included (the cleaner keeps offsets), by
// fetching from its log end as a fetcher does: from the start, and from an
// end that the leader's cleaner has since removed (the follower copied
// part of the log before the leader cleaned it). Every batch lands at the
// leader's offsets with the leader's bytes, the gaps survive a reopen and
// a crash (recovery must not take a gap in the active segment for a
// corrupt base offset), and appends after them continue.
func TestAppendReplicatedCopiesCompactionGaps(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		lfs, ldir := k.newDir(t)
		leader := mustOpen(t, lfs, ldir, compactCfg)
		defer leader.Close()
		var m kvModel
		fillKeys(t, leader, &m, rand.New(rand.NewPCG(7, 8)), 40, 4)
		// A follower that copied the first part before the cleaning: its
		// end is then inside a range the leader's cleaner removes.
		fs := memfs.New()
		// The fresh follower keeps everything in its active segment, where
		// recovery allows a gap only below the durable bound AllowGapsBelow
		// raised; the early one rolls segments as the leader does.
		cfgs := map[string]Config{"fresh": {SegmentBytes: 1 << 20}, "early": compactCfg}
		early := mustOpen(t, fs, "/early", cfgs["early"])
		copyFrom(t, leader, early, leader.EndOffset()/2)
		// What it copied the leader's cleaner then rewrites: from here on
		// the two logs hold the same batches (each replica compacts its own
		// copy, as in Kafka).
		from := map[string]int64{"fresh": 0, "early": early.EndOffset()}
		fillKeys(t, leader, &m, rand.New(rand.NewPCG(9, 10)), 40, 4)
		if st := mustClean(t, leader, cleanAll); !st.Ran {
			t.Fatal("the leader's log was not cleaned")
		}
		if gaps := countGaps(t, leader); gaps < 5 {
			t.Fatalf("the cleaned leader log has %d gaps; the test wants several", gaps)
		}
		if _, err := leader.Read(early.EndOffset(), 1); err != nil {
			t.Fatalf("the early follower's end %d: %v", early.EndOffset(), err)
		}
		fresh := mustOpen(t, fs, "/fresh", cfgs["fresh"])
		for name, f := range map[string]*Log{"fresh": fresh, "early": early} {
			copyFrom(t, leader, f, leader.EndOffset())
			sameBatches(t, name, leader, f, from[name])
			// A crash after the fsync keeps everything: the gaps were
			// allowed durably before the batches after them were written.
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		crashed := fs.Crash(rand.New(rand.NewPCG(1, 1)), 0)
		fresh.Close()
		early.Close()
		reopened := map[string]*Log{}
		for _, name := range []string{"fresh", "early"} {
			f := mustOpen(t, crashed, "/"+name, cfgs[name])
			defer f.Close()
			if r := f.Recovery(); r.TruncatedBytes != 0 {
				t.Fatalf("%s: recovery cut %d bytes: %v", name, r.TruncatedBytes, r.TruncateReason)
			}
			sameBatches(t, name+" after a crash", leader, f, from[name])
			reopened[name] = f
		}
		// The leader goes on, densely; the followers follow.
		fillKeys(t, leader, &m, rand.New(rand.NewPCG(11, 12)), 5, 4)
		for name, f := range reopened {
			copyFrom(t, leader, f, leader.EndOffset())
			sameBatches(t, name+" after more appends", leader, f, from[name])
		}
	})
}

// copyFrom fetches leader's batches from f's log end until f reaches to,
// as a follower's fetcher does (a fetch at an offset in a gap is served
// from the batch after it), and appends them with AppendReplicated.
func copyFrom(t *testing.T, leader, f *Log, to int64) {
	t.Helper()
	for f.EndOffset() < to {
		data, err := leader.Read(f.EndOffset(), 300)
		if err != nil {
			t.Fatalf("leader Read(%d): %v", f.EndOffset(), err)
		}
		for len(data) > 0 {
			b, err := record.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.AppendReplicated(bytes.Clone(b.Raw)); err != nil {
				t.Fatalf("AppendReplicated at %d (log end %d): %v", b.FirstOffset, f.EndOffset(), err)
			}
			data = data[len(b.Raw):]
		}
	}
}

// sameBatches checks that f holds exactly leader's batches from offset from.
func sameBatches(t *testing.T, name string, leader, f *Log, from int64) {
	t.Helper()
	var want [][]byte
	if err := leader.Batches(from, func(b *record.Batch) error {
		want = append(want, bytes.Clone(b.Raw))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	i := 0
	if err := f.Batches(from, func(b *record.Batch) error {
		if i >= len(want) || !bytes.Equal(b.Raw, want[i]) {
			return fmt.Errorf("batch %d at offset %d is not the leader's", i, b.FirstOffset)
		}
		i++
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if i != len(want) || f.EndOffset() != leader.EndOffset() {
		t.Fatalf("%s: %d of %d batches, end %d, leader's %d", name, i, len(want), f.EndOffset(), leader.EndOffset())
	}
}

// countGaps counts the batches of l whose base offset is not the offset
// after the previous batch.
func countGaps(t *testing.T, l *Log) int {
	t.Helper()
	gaps, next := 0, l.StartOffset()
	if err := l.Batches(next, func(b *record.Batch) error {
		if b.FirstOffset > next {
			gaps++
		}
		next = b.LastOffset() + 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return gaps
}

// A follower far behind the leader's log start restarts its log there and
// continues with the leader's batches; a truncation then a replicated
// append rewrites the tail, as after a leader change.
func TestAppendReplicatedAfterTruncation(t *testing.T) {
	fs := memfs.New()
	l := mustOpen(t, fs, "/d", Config{SegmentBytes: 300})
	for i := range 6 {
		if _, err := l.AppendReplicated(leaderBatch(2, int64(2*i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.TruncateTo(7); err != nil { // inside the batch [6,7]
		t.Fatal(err)
	}
	if l.EndOffset() != 6 {
		t.Fatalf("EndOffset after TruncateTo(7) = %d, want 6", l.EndOffset())
	}
	divergent := leaderBatch(4, 6, 2)
	if _, err := l.AppendReplicated(divergent); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateFullyAndStartAt(500); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendReplicated(leaderBatch(1, 499, 3)); !errors.Is(err, ErrUnexpectedOffset) {
		t.Fatalf("batch below the new start: %v", err)
	}
	if _, err := l.AppendReplicated(leaderBatch(2, 500, 3)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	// Synced replicated data survives a crash like any other.
	fs2 := fs.Crash(rand.New(rand.NewPCG(1, 2)), 0.5)
	l.Close()
	l = mustOpen(t, fs2, "/d", Config{SegmentBytes: 300})
	defer l.Close()
	if l.StartOffset() != 500 || l.EndOffset() != 502 {
		t.Fatalf("after crash: [%d, %d), want [500, 502)", l.StartOffset(), l.EndOffset())
	}
}
