package quorum

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weir-dev/weir/env/memfs"
)

// crashPoint is an Injector that, at the at-th operation on its FS, keeps
// the disk as a power loss at that instant would leave it (a sync under
// way has not taken effect) and lets the run go on: the run after the
// crash point is never looked at.
type crashPoint struct {
	fs *memfs.FS
	at int
	// namesKept makes the directory's entries survive as they stand, as
	// a journaling file system often keeps an unsynced create or remove
	// (memfs alone never does).
	namesKept bool
	keep      float64 // memfs's keepUnsyncedFraction
	seed      uint64

	ops    int
	disk   *memfs.FS // the disk after the crash; nil if none happened
	inside bool
}

func (c *crashPoint) MaybeError(op memfs.Op, path string) error {
	if c.inside {
		return nil
	}
	c.ops++
	if c.ops != c.at {
		return nil
	}
	c.inside = true
	defer func() { c.inside = false }()
	if c.namesKept {
		for _, dir := range []string{"/", "/q"} {
			if err := c.fs.SyncDir(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				panic(err)
			}
		}
	}
	c.disk = c.fs.CrashClone(rand.New(rand.NewPCG(c.seed, uint64(c.at))), c.keep)
	return nil
}

// ackedLog is what a log acknowledged before a crash: every entry save
// returned for (from index 2), the last hard state, and the snapshots
// written, by index, with their data.
type ackedLog struct {
	entries []pb.Entry
	hs      pb.HardState
	snaps   map[uint64]string
	// inFlight, if set, is a hard state the operation crashed in was
	// making durable: a start may find its term and vote instead.
	inFlight *pb.HardState
}

// check fails unless l, started with hard state hs, holds everything want
// acknowledged: entries above its snapshot as saved, the ones at or below
// it in one of the snapshots written, the hard state's term and vote, and
// at least its commit.
func (want ackedLog) check(t *testing.T, what string, l *diskLog, hs pb.HardState) {
	t.Helper()
	snap, _ := l.Snapshot()
	data, ok := want.snaps[snap.Metadata.Index]
	if !ok || string(snap.Data) != data {
		t.Fatalf("%s: snapshot %d %q is none of those written: %v", what, snap.Metadata.Index, snap.Data, want.snaps)
	}
	last, _ := l.LastIndex()
	for _, e := range want.entries {
		if e.Index <= snap.Metadata.Index {
			continue
		}
		if e.Index > last {
			t.Fatalf("%s: entry %d lost: the log ends at %d", what, e.Index, last)
		}
		got, err := l.Entries(e.Index, e.Index+1, 1<<30)
		if err != nil || len(got) != 1 || got[0].Term != e.Term || !bytes.Equal(got[0].Data, e.Data) {
			t.Fatalf("%s: entry %d: got %v (%v), want term %d", what, e.Index, got, err, e.Term)
		}
	}
	termAndVote := hs.Term == want.hs.Term && hs.Vote == want.hs.Vote
	if f := want.inFlight; f != nil && hs.Term == f.Term && hs.Vote == f.Vote {
		termAndVote = true
	}
	if !termAndVote || hs.Commit < want.hs.Commit {
		t.Fatalf("%s: hard state %+v, want %+v", what, hs, want.hs)
	}
}

func startAndClose(fs *memfs.FS, initial *pb.Snapshot) error {
	l, _, err := openLog(fs, "/q", initial)
	if err == nil {
		l.close()
	}
	return err
}

// saveClosed starts the log in fs, saves hs and ents, and closes it.
func saveClosed(t *testing.T, fs *memfs.FS, hs pb.HardState, ents []pb.Entry) {
	t.Helper()
	l, _, err := openLog(fs, "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.save(hs, ents, true); err != nil {
		t.Fatal(err)
	}
	l.close()
}

// tearTail leaves the last WAL ending in what a crash keeps of a save
// that was never acknowledged: entry 7's frame whole, then half of a hard
// state frame.
func tearTail(t *testing.T, fs *memfs.FS) {
	t.Helper()
	names, _ := fs.List("/q")
	wals := filesWith(names, "wal-", ".log")
	f, err := fs.OpenReadWrite(filepath.Join("/q", walName(wals[len(wals)-1])))
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := appendFrames(nil, pb.HardState{Term: 3, Vote: 2, Commit: 7}, entries(7, 7, 3))
	st, _ := f.Stat()
	f.WriteAt(tail[:len(tail)-5], st.Size())
	f.Sync()
	f.Close()
}

// writePlainWAL writes a WAL as Weir wrote them before rotations had a
// header: frames only.
func writePlainWAL(t *testing.T, fs *memfs.FS, seq uint64, hs pb.HardState, ents []pb.Entry) {
	t.Helper()
	data, err := appendFrames(nil, hs, ents)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := fs.Create(filepath.Join("/q", walName(seq)))
	f.Write(data)
	f.Sync()
	f.Close()
	fs.SyncDir("/q")
}

var (
	savedHS   = pb.HardState{Term: 2, Vote: 1, Commit: 5}
	savedLog  = ackedLog{entries: entries(2, 6, 2), hs: savedHS, snaps: map[uint64]string{1: ""}}
	compacted = ackedLog{entries: entries(2, 20, 1), hs: pb.HardState{Term: 1, Commit: 20}, snaps: map[uint64]string{1: "", 20: "image"}}
)

// crashCase is a log on disk (setup) and an operation that rotates its
// WAL (run); run calls arm where the crash window opens.
type crashCase struct {
	name  string
	setup func(t *testing.T, fs *memfs.FS) ackedLog
	run   func(fs *memfs.FS, arm func()) error
}

func startCase(name string, setup func(t *testing.T, fs *memfs.FS) ackedLog) crashCase {
	return crashCase{name: name, setup: setup, run: func(fs *memfs.FS, arm func()) error {
		arm()
		return startAndClose(fs, &bootSnap)
	}}
}

func compactCase(name string, keepFrom uint64) crashCase {
	return crashCase{
		name: name,
		setup: func(t *testing.T, fs *memfs.FS) ackedLog {
			saveClosed(t, fs, compacted.hs, compacted.entries)
			return compacted
		},
		run: func(fs *memfs.FS, arm func()) error {
			l, _, err := openLog(fs, "/q", &bootSnap)
			if err != nil {
				return err
			}
			defer l.close()
			arm()
			return l.compact(20, pb.ConfState{Voters: []uint64{1}}, []byte("image"), keepFrom)
		},
	}
}

var crashCases = []crashCase{
	startCase("first start of a voter", func(*testing.T, *memfs.FS) ackedLog {
		return ackedLog{snaps: map[uint64]string{1: ""}}
	}),
	startCase("start", func(t *testing.T, fs *memfs.FS) ackedLog {
		saveClosed(t, fs, savedHS, savedLog.entries)
		return savedLog
	}),
	// Sweep seed 11156's shape: the WAL rotated from ends in a torn tail.
	startCase("start after a torn tail", func(t *testing.T, fs *memfs.FS) ackedLog {
		saveClosed(t, fs, savedHS, savedLog.entries)
		tearTail(t, fs)
		return savedLog
	}),
	startCase("start of WALs written before rotations had a header", func(t *testing.T, fs *memfs.FS) ackedLog {
		if err := mkdirDurable(fs, "/q"); err != nil {
			t.Fatal(err)
		}
		if err := (&diskLog{fs: fs, dir: "/q"}).writeSnapshot(bootSnap); err != nil {
			t.Fatal(err)
		}
		writePlainWAL(t, fs, 1, pb.HardState{Term: 2, Vote: 1, Commit: 3}, entries(2, 4, 2))
		writePlainWAL(t, fs, 2, savedHS, entries(5, 6, 2))
		tearTail(t, fs)
		return savedLog
	}),
	compactCase("compaction that keeps entries", 15),
	compactCase("compaction that keeps none", 21),
	{
		name: "snapshot from the leader",
		setup: func(t *testing.T, fs *memfs.FS) ackedLog {
			saveClosed(t, fs, savedHS, savedLog.entries)
			want := savedLog
			want.snaps = map[uint64]string{1: "", 10: "leader's image"}
			want.inFlight = &leaderHS
			return want
		},
		run: func(fs *memfs.FS, arm func()) error {
			l, _, err := openLog(fs, "/q", &bootSnap)
			if err != nil {
				return err
			}
			defer l.close()
			arm()
			return l.installSnapshot(leaderSnap, leaderHS)
		},
	},
}

var (
	leaderSnap = pb.Snapshot{Data: []byte("leader's image"), Metadata: pb.SnapshotMetadata{Index: 10, Term: 3, ConfState: pb.ConfState{Voters: []uint64{1}}}}
	leaderHS   = pb.HardState{Term: 3, Commit: 10}
)

// A crash at any step of a rotation (at a start, a compaction, a snapshot
// from the leader) leaves a log that starts with everything acknowledged
// before it: whether the crash keeps unsynced names or not, and none,
// some or all of the unsynced bytes. The recovered log starts again after
// a crash that keeps nothing unsynced.
func TestLogStartsAfterACrashInARotation(t *testing.T) {
	for _, tc := range crashCases {
		t.Run(tc.name, func(t *testing.T) {
			cutShort := 0
			for at := 1; ; at++ {
				crashed := false
				for _, namesKept := range []bool{false, true} {
					for seed, keep := range []float64{0, 1, 1, 1, 1} {
						what := fmt.Sprintf("crash at operation %d, names kept %v, seed %d keep %v", at, namesKept, seed, keep)
						fs := memfs.New()
						want := tc.setup(t, fs)
						inj := &crashPoint{fs: fs, at: at, namesKept: namesKept, keep: keep, seed: uint64(seed)}
						if err := tc.run(fs, func() { fs.SetInjector(inj) }); err != nil {
							t.Fatalf("%s: the run before the crash failed: %v", what, err)
						}
						if inj.disk == nil {
							continue
						}
						crashed = true
						if newestWALCutShort(inj.disk) {
							cutShort++
						}
						l, hs, err := openLog(inj.disk, "/q", &bootSnap)
						if err != nil {
							t.Fatalf("%s: start: %v", what, err)
						}
						want.check(t, what, l, hs)
						l.close()
						again := inj.disk.Crash(nil, 0)
						l, hs, err = openLog(again, "/q", &bootSnap)
						if err != nil {
							t.Fatalf("%s: second start: %v", what, err)
						}
						want.check(t, what+", second start", l, hs)
					}
				}
				if !crashed {
					break
				}
			}
			if cutShort == 0 {
				t.Fatal("no crash left a rotation cut short: the test tests nothing")
			}
		})
	}
}

// newestWALCutShort reports whether the newest WAL on disk is a rotation
// that a crash cut short.
func newestWALCutShort(fs *memfs.FS) bool {
	names, _ := fs.List("/q") // a crash before the directory was durable leaves none
	wals := filesWith(names, "wal-", ".log")
	if len(wals) == 0 {
		return false
	}
	data, err := readAll(fs, filepath.Join("/q", walName(wals[len(wals)-1])))
	if err != nil {
		return false
	}
	kind, err := classifyWAL(data)
	return err == nil && kind == walCutShort
}
