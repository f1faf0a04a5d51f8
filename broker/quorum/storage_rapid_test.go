package quorum

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"pgregory.net/rapid"

	"github.com/weir-dev/weir/env/memfs"
)

// armedCrash is an Injector that crashes the disk at the left-th
// operation (of kind on, if not 0) after it is armed and fails every
// operation after that, as a node that lost power does nothing more.
type armedCrash struct {
	fs        *memfs.FS
	left      int // 0: not armed
	on        memfs.Op
	namesKept bool
	keep      float64
	seed      uint64

	disk   *memfs.FS // the disk after the crash; nil until it happened
	inside bool
}

var errPowerLost = errors.New("power lost")

func (c *armedCrash) MaybeError(op memfs.Op, _ string) error {
	switch {
	case c.inside:
		return nil
	case c.disk != nil:
		return errPowerLost
	case c.left == 0 || c.on != 0 && op != c.on:
		return nil
	}
	c.left--
	if c.left > 0 {
		return nil
	}
	c.inside = true
	if c.namesKept {
		c.fs.SyncDir("/") // the dir may not exist yet: then there is nothing to keep
		c.fs.SyncDir("/q")
	}
	c.inside = false
	c.disk = c.fs.CrashClone(rand.New(rand.NewPCG(c.seed, 0)), c.keep)
	return errPowerLost
}

// logModel is what the property's node asked of its log: every entry
// ever handed to save (no index is ever written with two terms, except
// when a start finds the entries after some index gone, which it then
// forgets), what the log acknowledged, and what was in flight when the
// power went.
type logModel struct {
	issued    []pb.Entry // issued[i] has index i+2
	ackedLast uint64
	ackedHS   pb.HardState
	ackedSnap uint64
	snaps     map[uint64]string // every snapshot written: index, data
	inflight  *pb.HardState     // the hard state of a save the crash interrupted
}

func (m *logModel) term() uint64 { return max(m.ackedHS.Term, 1) }

// checkStart fails unless the log a start recovered holds everything
// acknowledged, nothing that was never issued, and a hard state that was
// acknowledged or in flight; then it takes the recovered state as
// acknowledged (it was made durable by the start's rotation).
func (m *logModel) checkStart(t *rapid.T, l *diskLog, hs pb.HardState) {
	snap, _ := l.Snapshot()
	s := snap.Metadata.Index
	if data, ok := m.snaps[s]; !ok || data != string(snap.Data) || s < m.ackedSnap {
		t.Fatalf("start: snapshot %d %q; acknowledged %d, written %v", s, snap.Data, m.ackedSnap, m.snaps)
	}
	last, _ := l.LastIndex()
	if last < m.ackedLast || last > uint64(len(m.issued))+1 {
		t.Fatalf("start: last entry %d; acknowledged %d, issued %d", last, m.ackedLast, len(m.issued)+1)
	}
	for i := s + 1; i <= last; i++ {
		got, err := l.Entries(i, i+1, 1<<30)
		want := m.issued[i-2]
		if err != nil || got[0].Term != want.Term || string(got[0].Data) != string(want.Data) {
			t.Fatalf("start: entry %d is %v (%v), want %v", i, got, err, want)
		}
	}
	sameVote := hs.Term == m.ackedHS.Term && hs.Vote == m.ackedHS.Vote
	if m.inflight != nil && hs.Term == m.inflight.Term && hs.Vote == m.inflight.Vote {
		sameVote = true
	}
	if !sameVote || hs.Commit < m.ackedHS.Commit || hs.Commit > last {
		t.Fatalf("start: hard state %+v; acknowledged %+v, in flight %+v, last %d", hs, m.ackedHS, m.inflight, last)
	}
	m.issued = m.issued[:last-1]
	m.ackedLast, m.ackedHS, m.ackedSnap, m.inflight = last, hs, s, nil
}

// Appends, compactions, clean restarts and power losses at random
// operations (in a save, a compaction, a start or its rotation; the
// directory's unsynced names lost or kept, none, some or all of the
// unsynced bytes kept): every start succeeds, with every acknowledged
// entry, the acknowledged hard state (or the one in flight) and the
// newest acknowledged snapshot.
func TestLogPropertyCrashes(t *testing.T) {
	var crashes, cutShort, startsAfterCrash int
	rapid.Check(t, func(t *rapid.T) {
		fs := memfs.New()
		inj := &armedCrash{fs: fs}
		fs.SetInjector(inj)
		m := &logModel{snaps: map[uint64]string{1: ""}, ackedSnap: 1, ackedLast: 1}
		var l *diskLog
		// A crash at any operation, or at one of the first of a kind (a
		// crash at a write comes after the create before it, one at a
		// sync while it is under way), so that the few operations of a
		// rotation are hit often.
		arm := func() {
			inj.on = rapid.SampledFrom([]memfs.Op{0, memfs.OpCreate, memfs.OpWrite, memfs.OpSync, memfs.OpSync, memfs.OpSyncDir, memfs.OpRemove}).Draw(t, "crash at")
			inj.left = rapid.IntRange(1, 30).Draw(t, "crash in")
			if inj.on != 0 {
				inj.left = rapid.IntRange(1, 2).Draw(t, "crash in")
			}
			inj.namesKept = rapid.Bool().Draw(t, "names kept")
			inj.keep = rapid.SampledFrom([]float64{0, 0.5, 1}).Draw(t, "keep")
			inj.seed = rapid.Uint64().Draw(t, "seed")
		}
		crashed := func(what string, err error) {
			if inj.disk == nil {
				t.Fatalf("%s failed without a crash: %v", what, err)
			}
			if l != nil {
				l.close()
				l = nil
			}
			crashes++
			if newestWALCutShort(inj.disk) {
				cutShort++
			}
			fs = inj.disk
			inj = &armedCrash{fs: fs}
			fs.SetInjector(inj)
			if rapid.IntRange(0, 2).Draw(t, "crash in the start") > 0 {
				arm()
			}
		}
		steps := rapid.IntRange(1, 80).Draw(t, "steps")
		for range steps {
			if l == nil {
				var hs pb.HardState
				var err error
				if l, hs, err = openLog(fs, "/q", &bootSnap); err != nil {
					l = nil
					crashed("start", err)
					continue
				}
				m.checkStart(t, l, hs)
				if crashes > 0 {
					startsAfterCrash++
				}
				continue
			}
			switch rapid.SampledFrom([]string{"save", "save", "save", "compact", "arm", "arm", "restart"}).Draw(t, "op") {
			case "save":
				last, _ := l.LastIndex()
				hs := m.ackedHS
				hs.Term = m.term()
				if rapid.IntRange(0, 3).Draw(t, "new term") == 0 {
					hs.Term++
					hs.Vote = rapid.Uint64Range(0, 3).Draw(t, "vote")
				}
				n := rapid.Uint64Range(0, 3).Draw(t, "entries")
				var ents []pb.Entry
				for i := last + 1; i <= last+n; i++ {
					ents = append(ents, pb.Entry{Index: i, Term: hs.Term, Data: []byte(fmt.Sprint(i, "/", hs.Term))})
				}
				hs.Commit = rapid.Uint64Range(hs.Commit, last+n).Draw(t, "commit")
				m.issued = append(m.issued[:last-1], ents...)
				m.inflight = &hs
				if err := l.save(hs, ents, true); err != nil {
					crashed("save", err)
					continue
				}
				m.ackedLast, m.ackedHS, m.inflight = last+n, hs, nil
			case "compact":
				snap, _ := l.Snapshot()
				if m.ackedHS.Commit <= snap.Metadata.Index {
					continue
				}
				index := rapid.Uint64Range(snap.Metadata.Index+1, m.ackedHS.Commit).Draw(t, "index")
				first, _ := l.FirstIndex()
				keepFrom := rapid.Uint64Range(first, index+1).Draw(t, "keep from")
				data := fmt.Sprint("image ", index)
				m.snaps[index] = data
				if err := l.compact(index, pb.ConfState{Voters: []uint64{1}}, []byte(data), keepFrom); err != nil {
					crashed("compaction", err)
					continue
				}
				m.ackedSnap = index
			case "arm":
				arm()
			case "restart":
				l.close()
				l = nil
			}
		}
	})
	t.Logf("%d crashes, %d leaving a rotation cut short", crashes, cutShort)
	if cutShort == 0 || startsAfterCrash == 0 {
		t.Fatal("no crash left a rotation cut short that a start then read: the property tests nothing")
	}
}
