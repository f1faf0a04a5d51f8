package log

import (
	"bytes"
	"errors"
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

// A batch that would leave a gap or overwrite an offset is refused and
// leaves the log as it was.
func TestAppendReplicatedRefusesNonContiguous(t *testing.T) {
	l := mustOpen(t, memfs.New(), "/d", Config{})
	defer l.Close()
	if _, err := l.AppendReplicated(leaderBatch(3, 0, 0)); err != nil {
		t.Fatal(err)
	}
	for _, base := range []int64{0, 2, 4, 100} {
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
