package log

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// segmentFiles lists the bases of the .log files in dir.
func segmentFiles(t tb, fs env.FS, dir string) []int64 {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var bases []int64
	for _, n := range names {
		if b, sfx, ok := parseSegmentName(n); ok && sfx == logSuffix {
			bases = append(bases, b)
		}
	}
	return bases
}

func (l *Log) bases() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var b []int64
	for _, s := range l.segments {
		b = append(b, s.base)
	}
	return b
}

func TestAdvanceStartOffset(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(5, 6)), 60)
		bases := l.bases()
		if len(bases) < 5 {
			t.Fatalf("%d segments; the test wants several", len(bases))
		}
		// Inside the third segment, one past a batch's base: inside a batch
		// when that batch holds several records.
		target := bases[2] + 1
		got, err := l.AdvanceStartOffset(target)
		if err != nil || got != target {
			t.Fatalf("AdvanceStartOffset(%d) = %d, %v", target, got, err)
		}
		m.advanceStart(target)
		m.check(t, l)
		if got := segmentFiles(t, fs, dir); !slices.Equal(got, bases[2:]) {
			t.Fatalf("segment files %v, want %v: the two below the start must go", got, bases[2:])
		}
		// Lower or equal: nothing changes. Past the end: refused.
		if got, err := l.AdvanceStartOffset(target - 1); err != nil || got != target {
			t.Fatalf("AdvanceStartOffset(lower) = %d, %v", got, err)
		}
		if _, err := l.AdvanceStartOffset(l.EndOffset() + 1); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("AdvanceStartOffset(end+1): %v", err)
		}
		m.check(t, l)
		// Appends go on; a clean reopen keeps the start.
		fill(t, l, &m, rand.New(rand.NewPCG(7, 8)), 5)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, fs, dir, smallCfg)
		defer func() { l.Close() }()
		m.check(t, l)
		// Up to the end: the log is empty of readable batches but the
		// active segment stays.
		if _, err := l.AdvanceStartOffset(l.EndOffset()); err != nil {
			t.Fatal(err)
		}
		m.advanceStart(m.end())
		m.check(t, l)
		if l.Segments() != 1 {
			t.Fatalf("%d segments, want only the active one", l.Segments())
		}
	})
}

// TestStartSurvivesCrash: the start offset is durable once
// AdvanceStartOffset returns, even if nothing else was synced.
func TestStartSurvivesCrash(t *testing.T) {
	fs := memfs.New()
	dir := "/data/t-0"
	l := mustOpen(t, fs, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(9, 10))
	fill(t, l, &m, rng, 40)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	target := l.bases()[3] + 2
	if _, err := l.AdvanceStartOffset(target); err != nil {
		t.Fatal(err)
	}
	m.advanceStart(target)
	fs2 := fs.Crash(rng, 0.5)
	l2 := mustOpen(t, fs2, dir, smallCfg)
	defer l2.Close()
	m.check(t, l2)
}

// TestRecoverRemovesSegmentsBelowStart: a crash after the start was
// recorded but before the old segments went: recovery removes them.
func TestRecoverRemovesSegmentsBelowStart(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(11, 12)), 50)
		bases := l.bases()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		start := bases[3] + 1
		if err := env.WriteFileAtomic(fs, filepath.Join(dir, startFile), encodeCheckpoint(startMagic, start)); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		if got := l.Recovery().RemovedBelowStart; !slices.Equal(got, bases[:3]) {
			t.Fatalf("removed %v, want %v", got, bases[:3])
		}
		m.advanceStart(start)
		m.check(t, l)
	})
}

// TestRecoverStartAboveEnd: a recorded start above what survived (the
// active segment lost its tail) restarts the log at the start, so offsets
// below it are never handed out again.
func TestRecoverStartAboveEnd(t *testing.T) {
	fs := memfs.New()
	dir := "/data/t-0"
	l := mustOpen(t, fs, dir, smallCfg)
	var m model
	fill(t, l, &m, rand.New(rand.NewPCG(13, 14)), 10)
	end := l.EndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := env.WriteFileAtomic(fs, filepath.Join(dir, startFile), encodeCheckpoint(startMagic, end+50)); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, dir, smallCfg)
	defer l.Close()
	if l.StartOffset() != end+50 || l.EndOffset() != end+50 || l.Size() != 0 {
		t.Fatalf("start %d end %d size %d, want an empty log at %d", l.StartOffset(), l.EndOffset(), l.Size(), end+50)
	}
}

func TestCorruptStartFileFailsOpen(t *testing.T) {
	fs := memfs.New()
	dir := "/data/t-0"
	l := mustOpen(t, fs, dir, smallCfg)
	if _, err := l.Append(batch(3, 10, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AdvanceStartOffset(2); err != nil {
		t.Fatal(err)
	}
	l.Close()
	path := filepath.Join(dir, startFile)
	b := readAll(t, fs, path)
	b[10] ^= 1
	writeAll(t, fs, path, b)
	if _, err := Open(fs, env0(), dir, smallCfg); !errors.Is(err, errBadCheckpoint) {
		t.Fatalf("Open with a corrupt start file: %v; the start must not silently go back", err)
	}
}

// retentionLog builds a log of segments whose batches carry increasing
// timestamps: batch i has timestamp i*1000 (ms since the epoch).
func retentionLog(t *testing.T, k fsKind, clock env.Clock) (*Log, *model) {
	t.Helper()
	fs, dir := k.newDir(t)
	l, err := Open(fs, clock, dir, Config{SegmentBytes: 600, IndexIntervalBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	var m model
	for i := range 40 {
		m.add(t, l, batch(2, 40, int64(i)*1000))
	}
	return l, &m
}

func TestRetentionByTime(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		clock := env.NewManualClock(time.UnixMilli(0))
		l, m := retentionLog(t, k, clock)
		defer l.Close()
		policy := RetentionPolicy{RetentionMs: 10_000, RetentionBytes: -1, MaxOffset: math.MaxInt64}
		// Nothing is older than 10 s yet.
		clock.Set(time.UnixMilli(10_000))
		if d, err := l.EnforceRetention(policy); err != nil || d.Segments != 0 {
			t.Fatalf("deleted %+v, %v", d, err)
		}
		// At 30 s: segments whose largest timestamp is below 20 s go.
		clock.Set(time.UnixMilli(30_001))
		d, err := l.EnforceRetention(policy)
		if err != nil || d.Segments == 0 {
			t.Fatalf("deleted %+v, %v", d, err)
		}
		l.mu.RLock()
		for i, seg := range l.segments[:len(l.segments)-1] {
			if i == 0 && seg.maxTs < 30_001-10_000 {
				t.Errorf("segment %d (max timestamp %d) should have gone", seg.base, seg.maxTs)
			}
		}
		first := l.segments[0].base
		l.mu.RUnlock()
		if d.StartOffset != first {
			t.Fatalf("start %d, want the first segment's base %d", d.StartOffset, first)
		}
		m.advanceStart(first)
		m.check(t, l)
		// Far in the future: everything but the active segment goes.
		clock.Set(time.UnixMilli(1e9))
		if _, err := l.EnforceRetention(policy); err != nil {
			t.Fatal(err)
		}
		if l.Segments() != 1 {
			t.Fatalf("%d segments left, want the active one", l.Segments())
		}
		m.advanceStart(l.bases()[0])
		m.check(t, l)
	})
}

func TestRetentionBySize(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		l, m := retentionLog(t, k, env0())
		defer l.Close()
		limit := l.Size() / 3
		d, err := l.EnforceRetention(RetentionPolicy{RetentionMs: -1, RetentionBytes: limit, MaxOffset: math.MaxInt64})
		if err != nil || d.Segments == 0 {
			t.Fatalf("deleted %+v, %v", d, err)
		}
		l.mu.RLock()
		size, oldest := l.size, l.segments[0].size
		l.mu.RUnlock()
		if size < limit || size-oldest >= limit {
			t.Fatalf("%d bytes left (oldest segment %d) for a limit of %d: not the fewest deletions that fit", size, oldest, limit)
		}
		m.advanceStart(d.StartOffset)
		m.check(t, l)
	})
}

// TestRetentionKeepsUnreadable: a segment that ends above the high
// watermark stays, whatever its age or size.
func TestRetentionKeepsUnreadable(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		l, _ := retentionLog(t, k, env.NewManualClock(time.UnixMilli(1e9)))
		defer l.Close()
		bases := l.bases()
		d, err := l.EnforceRetention(RetentionPolicy{RetentionMs: 0, RetentionBytes: 0, MaxOffset: bases[2]})
		if err != nil || d.Segments != 2 {
			t.Fatalf("deleted %+v, %v; want the two segments below the high watermark", d, err)
		}
	})
}
