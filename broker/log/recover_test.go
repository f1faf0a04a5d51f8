package log

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

// buildLog makes a closed log with a few rolled segments and an active one
// holding several batches, and returns its model.
func buildLog(t *testing.T, fs env.FS, dir string) *model {
	t.Helper()
	l := mustOpen(t, fs, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(21, 22))
	fill(t, l, &m, rng, 25)
	// Make sure the active segment holds at least 3 batches.
	for l.active().size == 0 || len(m.batches)-l.segmentBatches(&m) < 3 {
		m.add(t, l, batch(1, 10, 5))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return &m
}

// segmentBatches returns the index in m of the active segment's first batch.
func (l *Log) segmentBatches(m *model) int {
	base := l.active().base
	for i, b := range m.bases {
		if b >= base {
			return i
		}
	}
	return len(m.bases)
}

// activeSegment returns the path and contents of the last .log file.
func activeSegment(t *testing.T, fs env.FS, dir string) (string, int64, []byte) {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for _, n := range names {
		if filepath.Ext(n) == logSuffix {
			last = n
		}
	}
	base, _, _ := parseSegmentName(last)
	path := filepath.Join(dir, last)
	return path, base, readAll(t, fs, path)
}

// wantPrefix checks that the reopened log holds exactly the model's first n
// batches.
func wantPrefix(t *testing.T, l *Log, m *model, n int) {
	t.Helper()
	p := model{start: m.start, batches: m.batches[:n], bases: m.bases[:n]}
	p.check(t, l)
}

func TestRecoverTornTailEveryLength(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		m := buildLog(t, fs, dir)
		path, base, data := activeSegment(t, fs, dir)
		first := slices.Index(m.bases, base)
		// Chop the active segment at every length: recovery keeps exactly the
		// batches that fit whole.
		for cut := len(data); cut >= 0; cut-- {
			writeAll(t, fs, path, data[:cut])
			l := mustOpen(t, fs, dir, smallCfg)
			keep, pos := first, 0
			for keep < len(m.batches) && pos+len(m.batches[keep]) <= cut {
				pos += len(m.batches[keep])
				keep++
			}
			if got := l.Recovery().TruncatedBytes; got != int64(cut-pos) {
				t.Fatalf("cut %d: truncated %d bytes, want %d", cut, got, cut-pos)
			}
			wantPrefix(t, l, m, keep)
			if got, err := fs.Stat(path); err != nil || got.Size() != int64(pos) {
				t.Fatalf("cut %d: file is %v bytes (%v), want %d", cut, got.Size(), err, pos)
			}
			l.Close()
		}
	})
}

func TestRecoverBitFlipInLastBatch(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		m := buildLog(t, fs, dir)
		path, _, data := activeSegment(t, fs, dir)
		last := len(m.batches[len(m.batches)-1])
		// Flip one bit in each byte of the last batch: whether it breaks the
		// CRC, the length, the magic or the base offset, the batch goes and
		// every earlier one stays.
		for i := len(data) - last; i < len(data); i++ {
			if j := i - (len(data) - last); j >= 12 && j < 16 {
				// The partition leader epoch is outside the CRC (the
				// broker rewrites it), so a flip there is a valid batch.
				continue
			}
			bad := bytes.Clone(data)
			bad[i] ^= 1 << (i % 8)
			writeAll(t, fs, path, bad)
			l := mustOpen(t, fs, dir, smallCfg)
			if l.Recovery().TruncateReason == nil {
				t.Fatalf("flip at byte %d of the last batch went unnoticed", i-(len(data)-last))
			}
			wantPrefix(t, l, m, len(m.batches)-1)
			l.Close()
		}
	})
}

func TestRecoverCorruptMiddleOfActive(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		m := buildLog(t, fs, dir)
		path, base, data := activeSegment(t, fs, dir)
		first := slices.Index(m.bases, base)
		// Corrupt the second batch of the active segment: it and everything
		// after it go, even though the later batches are intact, because
		// offsets must stay dense.
		bad := bytes.Clone(data)
		bad[len(m.batches[first])+record.HeaderSize] ^= 0xff
		writeAll(t, fs, path, bad)
		l := mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		if !errors.Is(l.Recovery().TruncateReason, record.ErrCorrupt) {
			t.Fatalf("reason %v", l.Recovery().TruncateReason)
		}
		wantPrefix(t, l, m, first+1)
	})
}

func TestRecoverOutOfSequence(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		m := buildLog(t, fs, dir)
		path, base, data := activeSegment(t, fs, dir)
		first := slices.Index(m.bases, base)
		// A valid batch whose base offset breaks density (the base offset
		// is outside the CRC) is cut like a corrupt one.
		bad := bytes.Clone(data)
		record.SetBaseOffset(bad[len(m.batches[first]):], m.bases[first+1]+1)
		writeAll(t, fs, path, bad)
		l := mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		if !errors.Is(l.Recovery().TruncateReason, errOutOfSequence) {
			t.Fatalf("reason %v", l.Recovery().TruncateReason)
		}
		wantPrefix(t, l, m, first+1)
	})
}

func TestRecoverStrayFiles(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		m := buildLog(t, fs, dir)
		// (A .log.swap is no stray: it is a cleaned segment past its
		// commit point; see the cleaner's crash tests.)
		stray := []string{
			"00000000000000000000.index.swap", "00000000000000000000.log.cleaned",
			"00000000000000000000.log.deleted", "00000000000000000000.index.tmp",
			"00000000000000999999.index", "00000000000000999999.timeindex", // orphans
		}
		keep := []string{"leader-epoch-checkpoint", "partition.metadata", "00000000000000000000.snapshot"}
		for _, n := range append(slices.Clone(stray), keep...) {
			writeAll(t, fs, filepath.Join(dir, n), []byte("x"))
		}
		l := mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		removed := l.Recovery().RemovedFiles
		slices.Sort(removed)
		slices.Sort(stray)
		if !slices.Equal(removed, stray) {
			t.Fatalf("removed %v, want %v", removed, stray)
		}
		for _, n := range keep {
			if _, err := fs.Stat(filepath.Join(dir, n)); err != nil {
				t.Errorf("%s: %v; files that are not the log's must stay", n, err)
			}
		}
		m.check(t, l)
	})
}

// TestRecoverCrashMidRoll: the new segment file exists but is empty (and its
// predecessor's indexes may be missing); the log continues in it.
func TestRecoverCrashMidRoll(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		m := buildLog(t, fs, dir)
		_, base, _ := activeSegment(t, fs, dir)
		end := m.end()
		f, err := fs.Create(segmentName(dir, end, logSuffix))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		l := mustOpen(t, fs, dir, smallCfg)
		if l.active().base != end || l.active().size != 0 {
			t.Fatalf("active segment %d size %d, want the empty one at %d", l.active().base, l.active().size, end)
		}
		// The old active segment became rolled without index files.
		if r := l.Recovery().RebuiltIndexes; len(r) != 1 || r[0] != base {
			t.Fatalf("rebuilt %v, want [%d]", r, base)
		}
		m.check(t, l)
		fill(t, l, m, rand.New(rand.NewPCG(1, 1)), 5)
		m.check(t, l)
		l.Close()
	})
}

func TestRecoverRefusesCorruptRolledSegment(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		buildLog(t, fs, dir)
		// Damage the first segment's last byte and its index: the data was
		// synced at roll, so this is not a crash; Open must not serve a
		// hole.
		path := segmentName(dir, 0, logSuffix)
		data := readAll(t, fs, path)
		data[len(data)-1] ^= 1
		writeAll(t, fs, path, data)
		if err := fs.Remove(segmentName(dir, 0, indexSuffix)); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(fs, env.NewManualClock(t0), dir, smallCfg); err == nil {
			t.Fatal("Open served a log whose rolled segment is corrupt")
		}
		// Even with a good index the tail check catches it.
		fs2, dir2 := k.newDir(t)
		buildLog(t, fs2, dir2)
		writeAll(t, fs2, segmentName(dir2, 0, logSuffix), data)
		if _, err := Open(fs2, env.NewManualClock(t0), dir2, smallCfg); err == nil {
			t.Fatal("Open served a log whose rolled segment is corrupt")
		}
	})
}

func TestRecoverCreatesDurableDir(t *testing.T) {
	// On memfs a directory that was never SyncDir'ed vanishes in a crash,
	// taking synced segments with it.
	fs, _ := fsKinds()[1].newDir(t)
	l := mustOpen(t, fs, "/a/b/c", smallCfg)
	var m model
	m.add(t, l, batch(2, 2, 0))
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	fs = crash(t, fs, l, nil, 0)
	l = mustOpen(t, fs, "/a/b/c", smallCfg)
	defer l.Close()
	m.check(t, l)
}
