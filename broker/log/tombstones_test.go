package log

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// tombstoneLog is a compacted log holding key a's values, then a's
// tombstone at offset 60, then 20 records of key c, cleaned once (the
// tombstone kept, its horizon set 10 minutes ahead). It returns the log,
// its clock and the tombstone's offset.
func tombstoneLog(t *testing.T, fs env.FS, dir string, m *kvModel) (*Log, *env.ManualClock, int64) {
	t.Helper()
	clock := env.NewManualClock(time.UnixMilli(1_000_000))
	l, err := Open(fs, clock, dir, compactCfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		m.appendKV(t, l, recordtest.Options{TimestampMs: int64(i)}, kv("a", fmt.Sprint(i)), kv("b", fmt.Sprint(i)))
	}
	at := m.appendKV(t, l, recordtest.Options{TimestampMs: 99}, tombstone("a"))
	for i := range 20 {
		m.appendKV(t, l, recordtest.Options{TimestampMs: int64(100 + i)}, kv("c", fmt.Sprint(i)))
	}
	st := mustClean(t, l, CleanConfig{MaxOffset: l.EndOffset(), DeleteRetention: 10 * time.Minute})
	if st.TombstonesRemoved != 0 || l.TombstoneMark() != (TombstoneMark{}) {
		t.Fatalf("a pass before the horizon removed %d tombstones, mark %v", st.TombstonesRemoved, l.TombstoneMark())
	}
	return l, clock, at
}

// TestTombstoneMarkCoversRemovedTombstones: the pass that removes a
// tombstone (its horizon passed) raises the mark past it and moves Gen
// on, durably (a reopen finds it); a pass that removes no tombstone
// leaves the mark alone.
func TestTombstoneMarkCoversRemovedTombstones(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		var m kvModel
		l, clock, at := tombstoneLog(t, fs, dir, &m)
		cfg := CleanConfig{MaxOffset: l.EndOffset(), DeleteRetention: 10 * time.Minute}
		clock.Advance(11 * time.Minute)
		st := mustClean(t, l, cfg)
		m.checkCompacted(t, l) // the mark covers the removed tombstone
		want := TombstoneMark{Below: at + 1, Gen: 1}
		if st.TombstonesRemoved != 1 || l.TombstoneMark() != want {
			t.Fatalf("after the horizon: %d tombstones removed, mark %v; want 1, %v", st.TombstonesRemoved, l.TombstoneMark(), want)
		}
		m.appendKV(t, l, recordtest.Options{TimestampMs: 200}, kv("c", "x"))
		m.appendKV(t, l, recordtest.Options{TimestampMs: 201}, kv("d", "y"))
		if st := mustClean(t, l, CleanConfig{MaxOffset: l.EndOffset(), DeleteRetention: 10 * time.Minute, MinDirtyRatio: 0}); st.TombstonesRemoved != 0 || l.TombstoneMark() != want {
			t.Fatalf("a pass with no tombstone due: %d removed, mark %v; want %v", st.TombstonesRemoved, l.TombstoneMark(), want)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		if l.TombstoneMark() != want {
			t.Fatalf("reopened: mark %v, want %v", l.TombstoneMark(), want)
		}
	})
}

// TestTombstoneMarkAcrossCrashes crashes the disk before every step of the
// pass that removes a tombstone: whichever segments a reopen finds, a
// tombstone the log lacks is below its mark (checkCompacted).
func TestTombstoneMarkAcrossCrashes(t *testing.T) {
	fs := memfs.New()
	dir := "/d/t-0"
	var m kvModel
	l, clock, _ := tombstoneLog(t, fs, dir, &m)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(11 * time.Minute)
	crasher := &stepCrasher{fs: fs, rng: rand.New(rand.NewPCG(7, 7))}
	fs.SetInjector(crasher)
	st := mustClean(t, l, CleanConfig{MaxOffset: l.EndOffset(), DeleteRetention: 10 * time.Minute})
	fs.SetInjector(nil)
	l.Close()
	if st.TombstonesRemoved != 1 || len(crasher.clones) < 5 {
		t.Fatalf("the pass removed %d tombstones with %d crash points", st.TombstonesRemoved, len(crasher.clones))
	}
	lacking := 0
	for i, c := range crasher.clones {
		l := mustOpen(t, c, dir, compactCfg)
		got := m.checkCompacted(t, l)
		if countKey(got, "a") == 0 {
			lacking++
		}
		l.Close()
		if t.Failed() {
			t.Fatalf("after a crash at step %d", i)
		}
	}
	if lacking == 0 {
		t.Fatal("no crash point left the log without the tombstone: the test checks nothing")
	}
}

// TestInheritTombstoneMark: a follower raises its mark to its leader's,
// durably, moving Gen on; a lower mark changes nothing. A cleaner file of
// the first version (no mark) reads as no mark, its offsets kept.
func TestInheritTombstoneMark(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		if err := l.InheritTombstoneMark(TombstoneMark{Below: 40, Gen: 9}); err != nil {
			t.Fatal(err)
		}
		if err := l.InheritTombstoneMark(TombstoneMark{Below: 30, Gen: 12}); err != nil {
			t.Fatal(err)
		}
		want := TombstoneMark{Below: 40, Gen: 1}
		if l.TombstoneMark() != want {
			t.Fatalf("mark %v, want %v", l.TombstoneMark(), want)
		}
		if err := l.AllowGapsBelow(25); err != nil { // another checkpoint write keeps the mark
			t.Fatal(err)
		}
		l.Close()
		l = mustOpen(t, fs, dir, compactCfg)
		if l.TombstoneMark() != want || l.cleanedTo != 0 { // the empty log's end bounds cleanedTo
			t.Fatalf("reopened: mark %v cleanedTo %d, want %v", l.TombstoneMark(), l.cleanedTo, want)
		}
		l.Close()

		v1 := encodeCheckpoint(cleanerMagicV1, 0, 0, 1234)
		if err := env.WriteFileAtomic(fs, filepath.Join(dir, cleanerFile), v1); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		if l.TombstoneMark() != (TombstoneMark{}) || l.horizon != 1234 || l.Recovery().CleanerCheckpointLost {
			t.Fatalf("a v1 cleaner file: mark %v, horizon %d, lost %v", l.TombstoneMark(), l.horizon, l.Recovery().CleanerCheckpointLost)
		}
	})
}

// TestCleanKeepTombstones: with KeepTombstones (a leader whose follower
// catches up) no pass runs for due tombstones alone and a pass that runs
// keeps them, past their horizon; the mark stays. Without it, the next
// pass removes them.
func TestCleanKeepTombstones(t *testing.T) {
	fs := memfs.New()
	var m kvModel
	l, clock, at := tombstoneLog(t, fs, "/d/t-0", &m)
	defer l.Close()
	clock.Advance(11 * time.Minute)
	keep := CleanConfig{MaxOffset: l.EndOffset(), DeleteRetention: 10 * time.Minute, KeepTombstones: true}
	if st := mustClean(t, l, keep); st.Ran {
		t.Fatalf("a pass ran for due tombstones it must keep: %+v", st)
	}
	m.appendKV(t, l, recordtest.Options{TimestampMs: 300}, kv("c", "y"))
	m.appendKV(t, l, recordtest.Options{TimestampMs: 301}, kv("d", "z"))
	keep.MaxOffset = l.EndOffset()
	if st := mustClean(t, l, keep); !st.Ran || st.TombstonesRemoved != 0 || countKey(readRecords(t, l), "a") != 1 || l.TombstoneMark() != (TombstoneMark{}) {
		t.Fatalf("a pass keeping tombstones: %+v, %d records of a, mark %v", st, countKey(readRecords(t, l), "a"), l.TombstoneMark())
	}
	keep.KeepTombstones = false
	if st := mustClean(t, l, keep); st.TombstonesRemoved != 1 || l.TombstoneMark().Below != at+1 {
		t.Fatalf("the pass after: %+v, mark %v", st, l.TombstoneMark())
	}
}
