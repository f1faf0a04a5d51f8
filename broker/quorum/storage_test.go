package quorum

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

func entries(from, to, term uint64) []pb.Entry {
	var out []pb.Entry
	for i := from; i <= to; i++ {
		out = append(out, pb.Entry{Index: i, Term: term, Data: []byte{byte(i)}})
	}
	return out
}

var bootSnap = pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: pb.ConfState{Voters: []uint64{1}}}}

// What save returned for survives a power loss that keeps nothing
// unsynced.
func TestLogSurvivesCrash(t *testing.T) {
	fs := memfs.New()
	l, _, err := openLog(fs, "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.save(pb.HardState{Term: 2, Vote: 1, Commit: 5}, entries(2, 6, 2), true); err != nil {
		t.Fatal(err)
	}
	crashed := fs.Crash(rand.New(rand.NewPCG(1, 1)), 0)
	l2, hs, err := openLog(crashed, "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := l2.LastIndex(); last != 6 || hs.Commit != 5 || hs.Term != 2 || hs.Vote != 1 {
		t.Fatalf("recovered last %d hard state %+v", last, hs)
	}
	// A conflicting tail written later (a new leader's entries) replaces
	// the old one after a restart.
	if err := l2.save(pb.HardState{Term: 3, Vote: 2, Commit: 4}, entries(5, 5, 3), true); err != nil {
		t.Fatal(err)
	}
	l3, _, err := openLog(crashed.Crash(rand.New(rand.NewPCG(2, 2)), 0), "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := l3.LastIndex(); last != 5 {
		t.Fatalf("last %d after a rewritten tail", last)
	}
	if term, _ := l3.Term(5); term != 3 {
		t.Fatalf("entry 5 has term %d", term)
	}
}

// A torn last frame is cut off; the frames before it are kept.
func TestLogCutsTornTail(t *testing.T) {
	fs := memfs.New()
	writeTornLog(t, fs)
	checkTornLogRecovered(t, fs)
}

// writeTornLog leaves in fs a log of entries 2-4 whose last WAL ends in a
// torn hard state frame (commit 3), and returns that WAL's number.
func writeTornLog(t *testing.T, fs *memfs.FS) uint64 {
	t.Helper()
	l, _, err := openLog(fs, "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.save(pb.HardState{Term: 1, Commit: 3}, entries(2, 4, 1), true); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join("/q", walName(l.walSeq))
	st, _ := fs.Stat(wal)
	f, _ := fs.OpenReadWrite(wal)
	f.Truncate(st.Size() - 3) // the hard state frame loses its end
	f.Sync()
	f.Close()
	return l.walSeq
}

// checkTornLogRecovered starts writeTornLog's log: the entries are kept,
// and the commit of the snapshot, not the torn hard state's.
func checkTornLogRecovered(t *testing.T, fs *memfs.FS) {
	t.Helper()
	l, hs, err := openLog(fs, "/q", &bootSnap)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if last, _ := l.LastIndex(); last != 4 || hs.Commit != 1 {
		t.Fatalf("last %d commit %d: want the entries, and the hard state before the torn one", last, hs.Commit)
	}
}

// A bad frame in a WAL that is not the last one lost fsynced data: the
// log refuses to start instead of silently dropping it. The WAL after it
// is a rotation a crash cut short, which the start drops, but the WAL
// before it has no torn tail to forgive: the start that began that
// rotation fsynced the cut of any first, and a compaction rotates only
// after its saves were fsynced. The same files undamaged start.
func TestLogRefusesCorruptMiddle(t *testing.T) {
	for _, damaged := range []bool{false, true} {
		fs := memfs.New()
		l, _, err := openLog(fs, "/q", &bootSnap)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.save(pb.HardState{Term: 1, Commit: 3}, entries(2, 4, 1), true); err != nil {
			t.Fatal(err)
		}
		first := filepath.Join("/q", walName(l.walSeq))
		l.close()
		writeCutShortRotation(t, fs, l.walSeq+1)
		if damaged {
			// In entry 2's frame, after the rotation's header.
			g, _ := fs.OpenReadWrite(first)
			g.WriteAt([]byte{0xff}, rotationHeaderBytes+12)
			g.Sync()
			g.Close()
		}
		l2, hs, err := openLog(fs, "/q", &bootSnap)
		switch {
		case damaged && !errors.Is(err, errCorruptLog):
			t.Fatalf("damaged: err = %v, want errCorruptLog", err)
		case !damaged && err != nil:
			t.Fatalf("undamaged: %v", err)
		case !damaged:
			if last, _ := l2.LastIndex(); last != 4 || hs.Commit != 3 {
				t.Fatalf("undamaged: last %d commit %d, want 4 and 3", last, hs.Commit)
			}
		}
	}
}

// rotationHeaderBytes is the size of a rotation's header frame.
const rotationHeaderBytes = frameHeader + 8

// writeCutShortRotation leaves WAL seq as a crash in a rotation may (its
// name kept, half its bytes): a header, and part of the frames it counts.
func writeCutShortRotation(t *testing.T, fs *memfs.FS, seq uint64) {
	t.Helper()
	frames, err := appendFrames(nil, pb.HardState{Term: 1, Commit: 3}, entries(2, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	data := appendWALFrame(nil, frameRotation, binary.BigEndian.AppendUint64(nil, uint64(len(frames))))
	data = append(data, frames[:len(frames)/2]...)
	f, _ := fs.Create(filepath.Join("/q", walName(seq)))
	f.Write(data)
	f.Sync()
	f.Close()
	fs.SyncDir("/q")
}

// A rotation whose frames are not all there although the WAL goes on
// after them lost bytes that were fsynced: a crash cuts a rotation short
// only before anything is appended to it. The log is refused, even when
// that WAL is the last one; dropped as cut short, it would start from the
// snapshot alone, without entries 2-6.
func TestLogRefusesDamagedRotation(t *testing.T) {
	fs := memfs.New()
	saveClosed(t, fs, pb.HardState{Term: 1, Commit: 4}, entries(2, 4, 1))
	l, _, err := openLog(fs, "/q", &bootSnap) // a rotation holding entries 2-4
	if err != nil {
		t.Fatal(err)
	}
	if err := l.save(pb.HardState{Term: 1, Commit: 6}, entries(5, 6, 1), true); err != nil {
		t.Fatal(err)
	}
	l.close()
	g, _ := fs.OpenReadWrite(filepath.Join("/q", walName(l.walSeq)))
	g.WriteAt([]byte{0xff}, rotationHeaderBytes+12) // in entry 2's frame
	g.Sync()
	g.Close()
	if _, _, err := openLog(fs, "/q", &bootSnap); !errors.Is(err, errCorruptLog) {
		t.Fatalf("err = %v, want errCorruptLog", err)
	}
}

// WALs written before rotations had a header start as they always did,
// and a bad frame in one that is not the last is refused as before.
func TestLogOpensPlainWALs(t *testing.T) {
	for _, damaged := range []bool{false, true} {
		fs := memfs.New()
		if err := mkdirDurable(fs, "/q"); err != nil {
			t.Fatal(err)
		}
		if err := (&diskLog{fs: fs, dir: "/q"}).writeSnapshot(bootSnap); err != nil {
			t.Fatal(err)
		}
		writePlainWAL(t, fs, 1, pb.HardState{Term: 2, Vote: 1, Commit: 3}, entries(2, 4, 2))
		writePlainWAL(t, fs, 2, pb.HardState{Term: 2, Vote: 1, Commit: 5}, entries(5, 6, 2))
		if damaged {
			g, _ := fs.OpenReadWrite(filepath.Join("/q", walName(1)))
			g.WriteAt([]byte{0xff}, 12)
			g.Sync()
			g.Close()
		}
		l, hs, err := openLog(fs, "/q", &bootSnap)
		switch {
		case damaged && !errors.Is(err, errCorruptLog):
			t.Fatalf("damaged: err = %v, want errCorruptLog", err)
		case !damaged && err != nil:
			t.Fatalf("undamaged: %v", err)
		case !damaged:
			if last, _ := l.LastIndex(); last != 6 || hs != (pb.HardState{Term: 2, Vote: 1, Commit: 5}) {
				t.Fatalf("undamaged: last %d hard state %+v", last, hs)
			}
		}
	}
}

// failSyncOf fails every fsync of one file, as a disk that went bad.
type failSyncOf struct{ path string }

func (f failSyncOf) MaybeError(op memfs.Op, path string) error {
	if op == memfs.OpSync && path == f.path {
		return errors.New("injected sync error")
	}
	return nil
}

// A start that cut a torn tail and then failed to make its new WAL durable
// leaves the log as it found it, so the next start succeeds (sweep seed
// 11156: the new WAL was left behind, the torn one became a WAL in the
// middle, and every later start refused the log as corrupt).
func TestLogStartsAfterAFailedRotation(t *testing.T) {
	fs := memfs.New()
	seq := writeTornLog(t, fs)
	fs.SetInjector(failSyncOf{filepath.Join("/q", walName(seq+1))})
	if _, _, err := openLog(fs, "/q", &bootSnap); err == nil {
		t.Fatal("a start whose new WAL cannot be synced succeeded")
	}
	fs.SetInjector(nil)
	checkTornLogRecovered(t, fs)
}

func mustMarshal(t *testing.T, hs pb.HardState) []byte {
	b, err := hs.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Compaction keeps one snapshot and one WAL, and a restart from them
// gives back the state and the kept entries.
func TestLogCompaction(t *testing.T) {
	fs := memfs.New()
	l, _, err := openLog(fs, "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.save(pb.HardState{Term: 1, Commit: 20}, entries(2, 20, 1), true); err != nil {
		t.Fatal(err)
	}
	if err := l.compact(20, pb.ConfState{Voters: []uint64{1}}, []byte("image"), 15); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.List("/q")
	if len(names) != 2 {
		t.Fatalf("files after compaction: %v", names)
	}
	l2, hs, err := openLog(fs.Crash(rand.New(rand.NewPCG(3, 3)), 0), "/q", &bootSnap)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := l2.Snapshot()
	first, _ := l2.FirstIndex()
	last, _ := l2.LastIndex()
	if snap.Metadata.Index != 20 || string(snap.Data) != "image" || first != 21 || last != 20 || hs.Commit != 20 {
		t.Fatalf("snapshot %d %q first %d last %d commit %d", snap.Metadata.Index, snap.Data, first, last, hs.Commit)
	}
}

// A bit flipped on the way from the disk (the stored bytes are right) must
// not be taken for a torn tail: the committed entries and the snapshot
// survive the restart whole. The simulator found a lost producer-id block
// this way before WAL and snapshot reads were checked again.
func TestLogSurvivesFlippedReads(t *testing.T) {
	for _, file := range []string{".log", ".snap"} {
		fs := memfs.New()
		l, _, err := openLog(fs, "/q", &bootSnap)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.save(pb.HardState{Term: 2, Vote: 1, Commit: 6}, entries(2, 6, 2), true); err != nil {
			t.Fatal(err)
		}
		l.close()
		names, err := fs.List("/q")
		if err != nil {
			t.Fatal(err)
		}
		var path string
		for _, n := range names {
			if filepath.Ext(n) == file {
				path = filepath.Join("/q", n) // the newest, in name order
			}
		}
		flips := &memfs.FlipReads{Path: path, N: 3}
		fs.SetInjector(flips)
		l2, hs, err := openLog(fs, "/q", &bootSnap)
		if err != nil {
			t.Fatalf("%s flipped: %v", file, err)
		}
		if last, _ := l2.LastIndex(); last != 6 || hs.Commit != 6 {
			t.Fatalf("%s flipped: recovered last %d, commit %d; want 6 and 6", file, last, hs.Commit)
		}
		if flips.N == 3 {
			t.Fatalf("no read of a %s file was flipped: the test tests nothing", file)
		}
	}
}

// Any bytes in two WALs: a start never panics, and one that succeeds
// leaves a log that starts again, after a crash that keeps nothing
// unsynced, to the same state.
func FuzzOpenLogWALs(f *testing.F) {
	rotation := func(hs pb.HardState, ents []pb.Entry) []byte {
		frames, _ := appendFrames(nil, hs, ents)
		return append(appendWALFrame(nil, frameRotation, binary.BigEndian.AppendUint64(nil, uint64(len(frames)))), frames...)
	}
	plain, _ := appendFrames(nil, pb.HardState{Term: 1, Commit: 2}, entries(2, 3, 1))
	full := rotation(pb.HardState{Term: 2, Vote: 1, Commit: 3}, entries(2, 4, 2))
	f.Add(plain, []byte(nil))
	f.Add(plain, full)
	f.Add(full, full[:len(full)/2])
	f.Add(append(full, plain[:7]...), []byte{})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		fs := memfs.New()
		if err := mkdirDurable(fs, "/q"); err != nil {
			t.Fatal(err)
		}
		if err := (&diskLog{fs: fs, dir: "/q"}).writeSnapshot(bootSnap); err != nil {
			t.Fatal(err)
		}
		for i, data := range [][]byte{first, second} {
			if data != nil {
				if err := env.WriteFileSync(fs, filepath.Join("/q", walName(uint64(i+1))), data); err != nil {
					t.Fatal(err)
				}
			}
		}
		fs.SyncDir("/q")
		l, hs, err := openLog(fs, "/q", &bootSnap)
		if err != nil {
			if !errors.Is(err, errCorruptLog) {
				t.Fatalf("a start failed with %v, not errCorruptLog", err)
			}
			return
		}
		last, _ := l.LastIndex()
		l.close()
		l2, hs2, err := openLog(fs.Crash(nil, 0), "/q", &bootSnap)
		if err != nil {
			t.Fatalf("second start: %v", err)
		}
		if last2, _ := l2.LastIndex(); last2 != last || hs2 != hs {
			t.Fatalf("second start: last %d hard state %+v, first start: %d %+v", last2, hs2, last, hs)
		}
	})
}
