package partition

import (
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env/memfs"
)

// followerFetch records a follower's fetch at offset (limit 0: no bytes
// read) on the leader p and returns the answer.
func followerFetch(p *testPartition, replicaID, leaderEpoch, lastFetchedEpoch int32, offset int64) kmsg.FetchResponseTopicPartition {
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch = offset, leaderEpoch, lastFetchedEpoch
	sp := kmsg.NewFetchResponseTopicPartition()
	p.ReadForFollower(replicaID, &rp, 0, &sp)
	return sp
}

// While a new leader has not heard from its ISR in its epoch (its high
// watermark is below where the epoch started), consumers' reads answer
// OFFSET_NOT_AVAILABLE and EpochStartPending says so, for ListOffsets;
// the earliest offset is still answered. Its followers' fetches at the
// epoch's start end that.
func TestEpochStartPendingUntilTheISRCaughtUp(t *testing.T) {
	fs, clock := memfs.New(), testClock()
	p := openTest(t, fs, clock, testConfig(0), Deps{})
	p.lead(assignment(0, testNode))
	end := p.appendValues(0, 0, "a", "b").EndOffset
	p.waitHW(end)
	p.close()

	// Reopened, the high watermark starts at the log start.
	p = openTest(t, fs, clock, testConfig(0), Deps{})
	p.lead(assignment(1, testNode, 2, 3))
	if !p.EpochStartPending() {
		t.Fatalf("a leader at high watermark %d, its epoch starting at %d: not pending", p.HighWatermark(), end)
	}
	sp := kmsg.NewFetchResponseTopicPartition()
	if n := p.ReadForConsumer(0, 1<<20, false, &sp); n != 0 || sp.ErrorCode != kerr.OffsetNotAvailable.Code {
		t.Errorf("consumer read: %d bytes, %v; want none, OFFSET_NOT_AVAILABLE", n, kerr.ErrorForCode(sp.ErrorCode))
	}
	if off, _ := p.ListOffset(ListEarliest, false); off != 0 {
		t.Errorf("earliest offset %d, want 0", off)
	}
	for _, id := range []int32{2, 3} {
		if got := followerFetch(p, id, 1, 0, end); got.ErrorCode != 0 {
			t.Fatalf("follower %d's fetch: %v", id, kerr.ErrorForCode(got.ErrorCode))
		}
	}
	if p.EpochStartPending() || p.HighWatermark() != end {
		t.Fatalf("once the ISR fetched at %d: pending %v, high watermark %d", end, p.EpochStartPending(), p.HighWatermark())
	}
	if off, _ := p.ListOffset(ListLatest, false); off != end {
		t.Errorf("latest offset %d, want %d", off, end)
	}
	sp = kmsg.NewFetchResponseTopicPartition()
	if n := p.ReadForConsumer(0, 1<<20, false, &sp); n == 0 || sp.ErrorCode != 0 || sp.HighWatermark != end {
		t.Errorf("consumer read: %d bytes, %v, high watermark %d", n, kerr.ErrorForCode(sp.ErrorCode), sp.HighWatermark)
	}
}

// fakeFetchers stands in for the broker's fetcher.Manager.
type fakeFetchers struct {
	mu       sync.Mutex
	followed map[fetcher.TopicPartition]fetcher.Partition
	leaders  map[fetcher.TopicPartition]fetcher.Broker
	stopHW   int64 // what Stop says the follower's high watermark was
}

func (f *fakeFetchers) Follow(tp fetcher.TopicPartition, leader fetcher.Broker, _ replica.Assignment, _ int64, p fetcher.Partition) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.followed[tp], f.leaders[tp] = p, leader
	return nil
}

func (f *fakeFetchers) Stop(tp fetcher.TopicPartition) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.followed[tp]; !ok {
		return 0, false
	}
	delete(f.followed, tp)
	return f.stopHW, true
}

// replicated is a batch of values as a leader appended it at base in
// epoch.
func replicated(t *testing.T, base int64, epoch int32, values ...string) record.Batch {
	t.Helper()
	raw := make([][]byte, len(values))
	for i, v := range values {
		raw[i] = []byte(v)
	}
	data := recordtest.Batch(recordtest.Options{}, raw...)
	record.SetBaseOffset(data, base)
	record.SetLeaderEpoch(data, epoch)
	b, err := record.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A follower is registered with the fetchers and takes the leader's
// batches, epochs and high watermark through its ReplicaLog; it refuses
// produces. Made leader, it stops the fetcher, keeps the high watermark
// the fetcher had, and appends in its own epoch after the follower's.
func TestFollowThenLead(t *testing.T) {
	ff := &fakeFetchers{followed: map[fetcher.TopicPartition]fetcher.Partition{}, leaders: map[fetcher.TopicPartition]fetcher.Broker{}}
	p := openTest(t, memfs.New(), testClock(), testConfig(0), Deps{Fetchers: ff})
	tp := fetcher.TopicPartition{Topic: "t", TopicID: [16]byte{1}, Partition: 0}
	follow := replica.Assignment{Leader: 2, LeaderEpoch: 3, PartitionEpoch: 3, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	p.SetRole(reconcile.Follow, Role{Active: true, Assignment: follow, LeaderAddr: "b2:9092", MinInsync: 1})
	log := ff.followed[tp]
	if log == nil || ff.leaders[tp] != (fetcher.Broker{ID: 2, Addr: "b2:9092"}) {
		t.Fatalf("not following broker 2 at b2:9092: %v %v", ff.followed, ff.leaders)
	}
	if p.Leading() || p.LeaderEpoch() != 3 {
		t.Fatalf("a follower: leading %v in epoch %d", p.Leading(), p.LeaderEpoch())
	}
	if kerrp, _ := p.CheckProduce(-1); kerrp != kerr.NotLeaderForPartition {
		t.Fatalf("a follower checks a produce with %v", kerrp)
	}
	if err := log.AppendReplicated([]record.Batch{replicated(t, 0, 2, "a", "b"), replicated(t, 2, 3, "c")}); err != nil {
		t.Fatal(err)
	}
	log.SetHighWatermark(2)
	if p.EndOffset() != 3 || p.HighWatermark() != 2 || log.LatestEpoch() != 3 {
		t.Fatalf("after replication: end %d, high watermark %d, latest epoch %d", p.EndOffset(), p.HighWatermark(), log.LatestEpoch())
	}
	if e, end := log.EndOffsetForEpoch(2); e != 2 || end != 2 {
		t.Fatalf("epoch 2 ends at %d (epoch %d), want 2", end, e)
	}

	ff.stopHW = 3
	p.SetRole(reconcile.Lead, Role{Active: true, Assignment: assignment(4, testNode, 2), MinInsync: 1})
	if _, still := ff.followed[tp]; still {
		t.Fatal("leading, the partition is still with the fetchers")
	}
	if !p.Leading() || p.LeaderEpoch() != 4 || p.HighWatermark() != 3 {
		t.Fatalf("a leader: leading %v in epoch %d at high watermark %d", p.Leading(), p.LeaderEpoch(), p.HighWatermark())
	}
	res := p.appendValues(0, 0, "d")
	if res.BaseOffset != 3 || res.LeaderEpoch != 4 {
		t.Fatalf("appended at %d in epoch %d, want 3 in 4", res.BaseOffset, res.LeaderEpoch)
	}
	if code, e, end := p.AnswerEpochEnd(4, 3); code != 0 || e != 3 || end != 3 {
		t.Fatalf("OffsetForLeaderEpoch of epoch 3: %v, epoch %d ends at %d; want 3 at 3", kerr.ErrorForCode(code), e, end)
	}
	// The follower in the ISR fetches the new batch: it is committed.
	if got := followerFetch(p, 2, 4, 4, 4); got.ErrorCode != 0 {
		t.Fatalf("follower fetch: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	p.waitHW(4)
}
