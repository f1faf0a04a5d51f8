package replica_test

import (
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/epoch"
)

// TestFollowerRecopiesPastRemovedTombstones: seed 23094's follower. It
// was away with its log ending at 462 (an older value of some key below)
// while the leader's cleaner removed tombstones up to 589: it must not
// copy on from 462, but restart its log at the leader's start and copy it
// all, inheriting the leader's mark. Once it has checked a mark (ended
// past it, or restarted under it) the same mark never restarts it again;
// a mark that moves on does, while the log ends below it; a new leader
// epoch forgets the marks checked. An empty log has nothing to keep, and
// a log at or past the mark nothing to fear.
func TestFollowerRecopiesPastRemovedTombstones(t *testing.T) {
	cache, _ := epoch.New([]epoch.Entry{{Epoch: 3, StartOffset: 0}})
	local := &fakeLocal{end: 462, durable: 462, cache: cache}
	f := newFollower(t, local)
	mark := replica.TombstoneMark{Below: 590, Gen: 3}
	answer := func(m replica.TombstoneMark, batches ...mbatch) replica.Action {
		t.Helper()
		step := f.Next(local)
		if step.Kind != replica.StepFetch || step.FetchOffset != local.end {
			t.Fatalf("step %+v, want a fetch at %d", step, local.end)
		}
		return f.OnFetch(replica.FetchResult{FetchOffset: local.end, HighWatermark: 700, LogStartOffset: 0,
			DivergingEpoch: -1, DivergingEndOffset: -1, Tombstones: m, Records: fetched(batches...)}, local)
	}
	apply := func(a replica.Action) {
		if a.StartAt >= 0 {
			local.start, local.end, local.durable = a.StartAt, a.StartAt, a.StartAt
			if err := cache.Clear(); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range a.Append {
			if err := cache.Assign(b.PartitionLeaderEpoch, b.FirstOffset); err != nil {
				t.Fatal(err)
			}
			local.end, local.durable = b.LastOffset()+1, b.LastOffset()+1
		}
	}
	expect := func(what string, a replica.Action, recopy bool, m replica.TombstoneMark) {
		t.Helper()
		if a.Recopy != recopy || (a.StartAt == 0) != recopy || a.Tombstones != m || (recopy && len(a.Append) > 0) {
			t.Fatalf("%s: recopy %v start at %d mark %v, %d batches; want recopy %v, mark %v", what, a.Recopy, a.StartAt, a.Tombstones, len(a.Append), recopy, m)
		}
		apply(a)
	}

	expect("ending at 462, below the leader's mark", answer(mark, newBatch(472, 4, 1, 1)), true, mark)
	expect("the empty log at the leader's start", answer(mark, newBatch(0, 3, 1, 100)), false, mark)
	expect("copying under the mark checked", answer(mark, newBatch(100, 4, 2, 10)), false, mark)
	moved := replica.TombstoneMark{Below: 590, Gen: 4}
	expect("the leader removed another tombstone", answer(moved, newBatch(472, 4, 1, 1)), true, moved)
	expect("copied again", answer(moved, newBatch(0, 4, 1, 600)), false, moved)
	past := replica.TombstoneMark{Below: 600, Gen: 5}
	expect("ending at the mark", answer(past, newBatch(600, 4, 1, 1)), false, past)

	// A new leader epoch: what was checked under the old one counts no more.
	local.start, local.end, local.durable = 0, 300, 300
	a := replica.Assignment{Leader: 3, LeaderEpoch: 5, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}}
	if restart, err := f.UpdateAssignment(a, local); !restart || err != nil {
		t.Fatalf("UpdateAssignment: %v %v", restart, err)
	}
	expect("a new leader's mark", answer(past, newBatch(300, 5, 1, 1)), true, past)

	// The planted defect keeps the old log.
	cache2, _ := epoch.New([]epoch.Entry{{Epoch: 3, StartOffset: 0}})
	local = &fakeLocal{end: 462, durable: 462, cache: cache2}
	cache = cache2
	f, _ = replica.NewFollower(replica.FollowerConfig{LocalID: 1, TruncateOnFetch: true, Defects: replica.Defects{KeepDeletedKeys: true}},
		replica.Assignment{Leader: 2, LeaderEpoch: 4, PartitionEpoch: 7, Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}}, 0, local)
	expect("keep-deleted-keys", answer(mark, newBatch(472, 4, 1, 1)), false, mark)
}

// FollowerCatchingUp: a follower outside the ISR that fetched within
// LagTimeMax holds the leader's tombstones; one in the ISR, one that never
// fetched in this epoch, or one silent for longer does not.
func TestFollowerCatchingUp(t *testing.T) {
	local := replica.Local{End: 10, Durable: 10}
	l := newLeader(t, threeReplicas(1, 2), local) // 3 is out of the ISR
	if l.FollowerCatchingUp(t0) {
		t.Fatal("catching up before any fetch")
	}
	l.RecordFetch(2, 10, 10, local, t0)
	if l.FollowerCatchingUp(t0) {
		t.Fatal("an ISR member's fetch counts as catching up")
	}
	l.RecordFetch(3, 4, 10, local, t0)
	if !l.FollowerCatchingUp(t0.Add(10 * time.Second)) {
		t.Fatal("a follower outside the ISR fetched within LagTimeMax: not catching up")
	}
	if l.FollowerCatchingUp(t0.Add(11 * time.Second)) {
		t.Fatal("a follower silent for longer than LagTimeMax still holds the tombstones")
	}
}
