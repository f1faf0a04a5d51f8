package replica_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/epoch"
)

var t0 = time.Unix(1_000_000, 0)

func threeReplicas(isr ...int32) replica.Assignment {
	return replica.Assignment{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 7, Replicas: []int32{1, 2, 3}, ISR: isr}
}

func newLeader(t *testing.T, a replica.Assignment, local replica.Local) *replica.Leader {
	t.Helper()
	l, _, err := replica.NewLeader(replica.LeaderConfig{LocalID: 1, MinInsync: 2, LagTimeMax: 10 * time.Second}, a, local, 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCheckLeaderEpoch(t *testing.T) {
	for _, tc := range []struct {
		local, requested int32
		want             int16
	}{
		{5, -1, 0},
		{5, 5, 0},
		{5, 4, kerr.FencedLeaderEpoch.Code},
		{5, 6, kerr.UnknownLeaderEpoch.Code},
	} {
		if got := replica.CheckLeaderEpoch(tc.local, tc.requested); got != tc.want {
			t.Errorf("CheckLeaderEpoch(%d, %d) = %d, want %d", tc.local, tc.requested, got, tc.want)
		}
	}
}

func TestAnswerEpochEnd(t *testing.T) {
	cache, _ := epoch.New([]epoch.Entry{{Epoch: 1, StartOffset: 0}, {Epoch: 3, StartOffset: 10}})
	if code, e, o := replica.AnswerEpochEnd(cache, true, 3, 3, 1, 20); code != 0 || e != 1 || o != 10 {
		t.Errorf("epoch 1: %d %d %d", code, e, o)
	}
	if code, _, _ := replica.AnswerEpochEnd(cache, true, 3, 2, 1, 20); code != kerr.FencedLeaderEpoch.Code {
		t.Errorf("stale current epoch: %d", code)
	}
	if code, _, _ := replica.AnswerEpochEnd(cache, false, 3, 3, 1, 20); code != kerr.NotLeaderForPartition.Code {
		t.Errorf("not leader: %d", code)
	}
}

func TestCheckDiverging(t *testing.T) {
	cache, _ := epoch.New([]epoch.Entry{{Epoch: 1, StartOffset: 0}, {Epoch: 3, StartOffset: 10}})
	for _, tc := range []struct {
		name       string
		last       int32
		fetch      int64
		want       replica.Divergence
		start, end int64
	}{
		{"no epoch sent", -1, 5, replica.Divergence{}, 0, 20},
		{"same epoch, within it", 3, 15, replica.Divergence{}, 0, 20},
		{"earlier epoch, at its end", 1, 10, replica.Divergence{}, 0, 20},
		{"earlier epoch, past its end", 1, 12, replica.Divergence{Diverging: true, Epoch: 1, EndOffset: 10}, 0, 20},
		{"unknown epoch between", 2, 10, replica.Divergence{Diverging: true, Epoch: 1, EndOffset: 10}, 0, 20},
		{"epoch above the leader's", 4, 10, replica.Divergence{Code: kerr.OffsetOutOfRange.Code}, 0, 20},
		{"below the log start", 3, 2, replica.Divergence{Code: kerr.OffsetOutOfRange.Code}, 5, 20},
	} {
		if got := replica.CheckDiverging(cache, tc.last, tc.fetch, tc.start, tc.end); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestLeaderCheckFetch(t *testing.T) {
	l := newLeader(t, threeReplicas(1, 2, 3), replica.Local{})
	for _, tc := range []struct {
		replica int32
		epoch   int32
		want    int16
	}{
		{2, 4, 0},
		{2, -1, 0},
		{2, 3, kerr.FencedLeaderEpoch.Code},
		{2, 5, kerr.UnknownLeaderEpoch.Code},
		{9, 4, kerr.UnknownLeaderEpoch.Code},
		{9, -1, kerr.NotLeaderForPartition.Code},
		{1, 4, kerr.UnknownLeaderEpoch.Code},
	} {
		if got := l.CheckFetch(tc.replica, tc.epoch); got != tc.want {
			t.Errorf("CheckFetch(%d, %d) = %d, want %d", tc.replica, tc.epoch, got, tc.want)
		}
	}
}

func TestNewLeaderRefusesBadInput(t *testing.T) {
	cfg := replica.LeaderConfig{LocalID: 1, MinInsync: 2, LagTimeMax: time.Second}
	bad := []replica.Assignment{
		{Leader: 2, Replicas: []int32{1, 2}, ISR: []int32{1, 2}},
		{Leader: 1, Replicas: []int32{2, 3}, ISR: []int32{2}},
		{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{2}},
		{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 4}},
		{Leader: 1, LeaderEpoch: -2, Replicas: []int32{1}, ISR: []int32{1}},
	}
	for _, a := range bad {
		if _, _, err := replica.NewLeader(cfg, a, replica.Local{}, 0, t0); err == nil {
			t.Errorf("NewLeader accepted %+v", a)
		}
	}
	if _, _, err := replica.NewLeader(replica.LeaderConfig{LocalID: 1}, threeReplicas(1), replica.Local{}, 0, t0); err == nil {
		t.Error("NewLeader accepted min.insync 0")
	}
}

// An acks=all produce whose offset the high watermark already passed,
// while the ISR is below min.insync.replicas, is answered
// NOT_ENOUGH_REPLICAS_AFTER_APPEND (a retried batch recognised as a
// duplicate, with the ISR shrunk since).
func TestAckAfterAppendBelowMinISR(t *testing.T) {
	local := replica.Local{End: 5, Durable: 5}
	l := newLeader(t, threeReplicas(1, 2), local)
	u := l.RecordFetch(2, 5, 5, local, t0)
	if u.HighWatermark != 5 {
		t.Fatalf("hw %d, want 5", u.HighWatermark)
	}
	a := threeReplicas(1)
	a.PartitionEpoch = 8
	if _, err := l.UpdateAssignment(a, local, t0); err != nil {
		t.Fatal(err)
	}
	if done, code := l.WaitAck(1, 4); !done || code != kerr.NotEnoughReplicasAfterAppend.Code {
		t.Fatalf("WaitAck under min ISR: %v %d", done, code)
	}
	if code := l.CheckProduce(-1); code != kerr.NotEnoughReplicas.Code {
		t.Fatalf("CheckProduce(-1) = %d", code)
	}
	if code := l.CheckProduce(1); code != 0 {
		t.Fatalf("CheckProduce(1) = %d: acks=1 does not need the ISR", code)
	}
}

func TestAckWaitersCompleteInOrderAndCancel(t *testing.T) {
	local := replica.Local{End: 10, Durable: 10}
	l := newLeader(t, threeReplicas(1, 2), local)
	for id, off := range map[uint64]int64{1: 3, 2: 8, 3: 5, 4: 10} {
		if done, _ := l.WaitAck(id, off); done {
			t.Fatalf("ack %d done before anything was replicated", id)
		}
	}
	if !l.CancelAck(4) || l.CancelAck(4) {
		t.Fatal("CancelAck")
	}
	u := l.RecordFetch(2, 6, 10, local, t0)
	got := []uint64{}
	for _, a := range u.Acks {
		if a.Err != 0 {
			t.Fatalf("ack %d: %d", a.ID, a.Err)
		}
		got = append(got, a.ID)
	}
	if !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("completed %v, want [1 3]", got)
	}
	rest := l.Resign()
	if len(rest) != 1 || rest[0].ID != 2 || rest[0].Err != kerr.NotLeaderForPartition.Code {
		t.Fatalf("Resign: %+v", rest)
	}
}

// The controller's answers to an AlterPartition, as Kafka's
// handleAlterPartitionError sorts them.
func TestAlterPartitionAnswers(t *testing.T) {
	local := replica.Local{End: 10, Durable: 10}
	shrinkProposal := func(t *testing.T) (*replica.Leader, replica.AlterPartition) {
		l := newLeader(t, threeReplicas(1, 2, 3), local)
		l.RecordFetch(2, 10, 10, local, t0)
		u := l.Tick(local, t0.Add(11*time.Second))
		if u.Propose == nil || !slices.Equal(u.Propose.ISR, []int32{1, 2}) || u.Propose.PartitionEpoch != 7 || u.Propose.LeaderEpoch != 4 {
			t.Fatalf("proposal %+v", u.Propose)
		}
		return l, *u.Propose
	}
	t.Run("not attempted: back to the committed ISR, may propose again", func(t *testing.T) {
		l, p := shrinkProposal(t)
		l.AlterPartitionDone(replica.AlterPartitionResult{ID: p.ID, Err: kerr.OperationNotAttempted.Code}, local, t0)
		if _, pending := l.Pending(); pending {
			t.Fatal("still pending")
		}
		if u := l.Tick(local, t0.Add(12*time.Second)); u.Propose == nil {
			t.Fatal("no new proposal")
		}
	})
	t.Run("stale view: stays pending", func(t *testing.T) {
		l, p := shrinkProposal(t)
		u := l.AlterPartitionDone(replica.AlterPartitionResult{ID: p.ID, Err: kerr.InvalidUpdateVersion.Code}, local, t0)
		if _, pending := l.Pending(); !pending || u.Propose != nil {
			t.Fatal("not pending, or retried")
		}
		if !slices.Equal(l.MaximalISR(), []int32{1, 2, 3}) {
			t.Fatalf("maximal ISR %v", l.MaximalISR())
		}
	})
	t.Run("other error: retried", func(t *testing.T) {
		l, p := shrinkProposal(t)
		u := l.AlterPartitionDone(replica.AlterPartitionResult{ID: p.ID, Err: kerr.RequestTimedOut.Code}, local, t0)
		if u.Propose == nil || u.Propose.ID != p.ID {
			t.Fatalf("retry %+v", u.Propose)
		}
	})
	t.Run("accepted: committed", func(t *testing.T) {
		l, p := shrinkProposal(t)
		l.AlterPartitionDone(replica.AlterPartitionResult{ID: p.ID, LeaderEpoch: 4, PartitionEpoch: 8, ISR: []int32{1, 2}}, local, t0)
		if !slices.Equal(l.ISR(), []int32{1, 2}) || l.PartitionEpoch() != 8 {
			t.Fatalf("isr %v pe %d", l.ISR(), l.PartitionEpoch())
		}
	})
	t.Run("accepted in another leader epoch or at an older partition epoch: ignored", func(t *testing.T) {
		for _, res := range []replica.AlterPartitionResult{
			{LeaderEpoch: 5, PartitionEpoch: 8, ISR: []int32{1, 2}},
			{LeaderEpoch: 4, PartitionEpoch: 6, ISR: []int32{1, 2}},
			{LeaderEpoch: 4, PartitionEpoch: 8, ISR: []int32{2}},
		} {
			l, p := shrinkProposal(t)
			res.ID = p.ID
			l.AlterPartitionDone(res, local, t0)
			if !slices.Equal(l.ISR(), []int32{1, 2, 3}) {
				t.Fatalf("%+v applied: isr %v", res, l.ISR())
			}
		}
	})
	t.Run("an answer to an older proposal: ignored", func(t *testing.T) {
		l, p := shrinkProposal(t)
		l.AlterPartitionDone(replica.AlterPartitionResult{ID: p.ID + 1, LeaderEpoch: 4, PartitionEpoch: 8, ISR: []int32{1}}, local, t0)
		if !slices.Equal(l.ISR(), []int32{1, 2, 3}) {
			t.Fatalf("isr %v", l.ISR())
		}
	})
}

// An ineligible replica (fenced, or in controlled shutdown) does not join
// the ISR however caught up it is.
func TestIneligibleReplicaNotAdded(t *testing.T) {
	local := replica.Local{End: 10, Durable: 10}
	a := threeReplicas(1, 2)
	a.Ineligible = []int32{3}
	l := newLeader(t, a, local)
	if u := l.RecordFetch(3, 10, 10, local, t0); u.Propose != nil {
		t.Fatalf("proposed %v", u.Propose.ISR)
	}
	a.Ineligible = nil
	if _, err := l.UpdateAssignment(a, local, t0); err != nil {
		t.Fatal(err)
	}
	if u := l.RecordFetch(3, 10, 10, local, t0); u.Propose == nil || !slices.Equal(u.Propose.ISR, []int32{1, 2, 3}) {
		t.Fatalf("not proposed once eligible: %+v", u.Propose)
	}
}

// fakeLocal is a LocalLog for follower unit tests.
type fakeLocal struct {
	start, end, durable int64
	cache               *epoch.Cache
}

func (f *fakeLocal) StartOffset() int64   { return f.start }
func (f *fakeLocal) EndOffset() int64     { return f.end }
func (f *fakeLocal) DurableOffset() int64 { return f.durable }
func (f *fakeLocal) LatestEpoch() int32   { return f.cache.LatestEpoch() }
func (f *fakeLocal) EndOffsetForEpoch(e int32) (int32, int64) {
	return f.cache.EndOffsetFor(e, f.end)
}

func newFollower(t *testing.T, local *fakeLocal) *replica.Follower {
	t.Helper()
	a := replica.Assignment{Leader: 2, LeaderEpoch: 4, PartitionEpoch: 7, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	f, err := replica.NewFollower(replica.FollowerConfig{LocalID: 1, TruncateOnFetch: true}, a, 0, local)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fetched(batches ...mbatch) []byte {
	var out []byte
	for _, b := range batches {
		out = append(out, b.raw...)
	}
	return out
}

// The follower appends only batches that continue its log, stopping at the
// first that does not. A gap (a compacted leader log, or a fetch offset
// inside a range the leader's cleaner removed) continues it.
func TestFollowerChecksBatches(t *testing.T) {
	cache, _ := epoch.New([]epoch.Entry{{Epoch: 3, StartOffset: 0}})
	local := &fakeLocal{end: 5, durable: 5, cache: cache}
	corrupt := newBatch(7, 4, 100, 1)
	corrupt.raw = append([]byte(nil), corrupt.raw...)
	corrupt.raw[len(corrupt.raw)-1] ^= 1
	for _, tc := range []struct {
		name    string
		records []byte
		appends int
		gaps    []replica.Gap
		err     bool
	}{
		{"contiguous", fetched(newBatch(5, 3, 1, 1), newBatch(6, 4, 2, 2)), 2, nil, false},
		{"partial last batch", append(fetched(newBatch(5, 4, 1, 1)), newBatch(6, 4, 2, 1).raw[:30]...), 1, nil, false},
		{"gap", fetched(newBatch(5, 4, 1, 1), newBatch(7, 4, 2, 1)), 2, []replica.Gap{{From: 6, To: 7}}, false},
		{"fetch offset inside a gap", fetched(newBatch(9, 4, 1, 2), newBatch(11, 4, 2, 1)), 2, []replica.Gap{{From: 5, To: 9}}, false},
		{"two gaps", fetched(newBatch(6, 4, 1, 1), newBatch(7, 4, 2, 1), newBatch(20, 4, 3, 1)), 3, []replica.Gap{{From: 5, To: 6}, {From: 8, To: 20}}, false},
		{"starts before the log end", fetched(newBatch(4, 4, 1, 2)), 0, nil, true},
		{"overlaps the previous batch", fetched(newBatch(5, 4, 1, 3), newBatch(7, 4, 2, 1)), 1, nil, true},
		{"gap, then a corrupt batch", fetched(newBatch(6, 4, 1, 1), corrupt), 1, []replica.Gap{{From: 5, To: 6}}, true},
		{"epoch past the leader's", fetched(newBatch(5, 5, 1, 1)), 0, nil, true},
		{"epoch going back", fetched(newBatch(5, 2, 1, 1)), 0, nil, true},
	} {
		f := newFollower(t, local)
		step := f.Next(local)
		if step.Kind != replica.StepFetch || step.FetchOffset != 5 || step.LastFetchedEpoch != 3 || step.CurrentLeaderEpoch != 4 {
			t.Fatalf("%s: step %+v", tc.name, step)
		}
		a := f.OnFetch(replica.FetchResult{FetchOffset: 5, HighWatermark: 5, DivergingEpoch: -1, DivergingEndOffset: -1, Records: tc.records}, local)
		if len(a.Append) != tc.appends || (a.Err != nil) != tc.err {
			t.Errorf("%s: %d appends, err %v; want %d, err %v", tc.name, len(a.Append), a.Err, tc.appends, tc.err)
		}
		if !slices.Equal(a.Gaps, tc.gaps) {
			t.Errorf("%s: gaps %v, want %v", tc.name, a.Gaps, tc.gaps)
		}
	}
}

func TestFollowerNeedsDurableFetchOffset(t *testing.T) {
	cache, _ := epoch.New([]epoch.Entry{{Epoch: 3, StartOffset: 0}})
	local := &fakeLocal{end: 5, durable: 3, cache: cache}
	f := newFollower(t, local)
	if step := f.Next(local); step.Kind != replica.StepSync {
		t.Fatalf("step %v with an unsynced tail, want sync", step.Kind)
	}
}

func TestFollowerAnswers(t *testing.T) {
	cache, _ := epoch.New([]epoch.Entry{{Epoch: 3, StartOffset: 0}})
	local := &fakeLocal{end: 5, durable: 5, cache: cache}
	res := func(code int16) replica.FetchResult {
		return replica.FetchResult{FetchOffset: 5, Err: code, DivergingEpoch: -1, DivergingEndOffset: -1, LogStartOffset: 0}
	}
	f := newFollower(t, local)
	if a := f.OnFetch(res(kerr.UnknownLeaderEpoch.Code), local); !a.Backoff || f.State() != replica.Fetching {
		t.Errorf("UNKNOWN_LEADER_EPOCH: %+v %v", a, f.State())
	}
	if a := f.OnFetch(res(kerr.FencedLeaderEpoch.Code), local); a.Backoff || f.State() != replica.Waiting {
		t.Errorf("FENCED_LEADER_EPOCH: %+v %v", a, f.State())
	}
	if step := f.Next(local); step.Kind != replica.StepWait {
		t.Errorf("fenced follower steps %v", step.Kind)
	}
	// A newer epoch restarts it.
	a := replica.Assignment{Leader: 3, LeaderEpoch: 5, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	if restart, err := f.UpdateAssignment(a, local); !restart || err != nil || f.Leader() != 3 {
		t.Fatalf("UpdateAssignment: %v %v", restart, err)
	}
	// Far behind the leader's log start: restart the log there.
	r := res(kerr.OffsetOutOfRange.Code)
	r.LogStartOffset = 50
	if act := f.OnFetch(r, local); act.StartAt != 50 {
		t.Errorf("out of range below the leader's start: %+v", act)
	}
	// Past the leader's end: find the divergence again.
	if act := f.OnFetch(res(kerr.OffsetOutOfRange.Code), local); act.StartAt != -1 || f.State() != replica.Truncating {
		t.Errorf("out of range past the leader's end: %+v %v", act, f.State())
	}
	if step := f.Next(local); step.Kind != replica.StepAskEpochEnd || step.Epoch != 3 {
		t.Errorf("step %+v", step)
	}
	// A stale answer for an older fetch offset is dropped.
	if act := f.OnFetch(replica.FetchResult{FetchOffset: 4}, local); act.TruncateTo != -1 || act.Append != nil || act.Err != nil {
		t.Errorf("stale answer acted on: %+v", act)
	}
	// This broker becoming leader is not a follower's business.
	a.Leader, a.LeaderEpoch = 1, 6
	if _, err := f.UpdateAssignment(a, local); !errors.Is(err, replica.ErrLeader) {
		t.Errorf("UpdateAssignment to leader: %v", err)
	}
}

func TestFollowerWithoutLeaderWaits(t *testing.T) {
	cache, _ := epoch.New(nil)
	local := &fakeLocal{cache: cache}
	a := replica.Assignment{Leader: -1, LeaderEpoch: 2, Replicas: []int32{1, 2}, ISR: []int32{2}}
	f, err := replica.NewFollower(replica.FollowerConfig{LocalID: 1}, a, 0, local)
	if err != nil {
		t.Fatal(err)
	}
	if step := f.Next(local); step.Kind != replica.StepWait {
		t.Fatalf("step %v", step.Kind)
	}
}

// A lower min.insync.replicas (the topic's config changed) lets a leader
// whose ISR is below the old value take acks=all produces again and move
// its high watermark; a higher one stops both.
func TestSetMinInsync(t *testing.T) {
	local := replica.Local{End: 10, Durable: 10}
	l := newLeader(t, threeReplicas(1), local)
	if code := l.CheckProduce(-1); code != kerr.NotEnoughReplicas.Code {
		t.Fatalf("ISR of 1 under min.insync 2: %d", code)
	}
	if u := l.LocalAppended(local, t0); u.HighWatermark != 0 {
		t.Fatalf("high watermark moved under min.insync: %d", u.HighWatermark)
	}
	u := l.SetMinInsync(1, local, t0)
	if code := l.CheckProduce(-1); code != 0 || u.HighWatermark != 10 || !u.Advanced || l.MinInsync() != 1 {
		t.Fatalf("min.insync 1: produce %d, high watermark %d (advanced %v), min %d", code, u.HighWatermark, u.Advanced, l.MinInsync())
	}
	l.SetMinInsync(3, local, t0)
	if code := l.CheckProduce(-1); code != kerr.NotEnoughReplicas.Code || l.HighWatermark() != 10 {
		t.Fatalf("min.insync 3: produce %d, high watermark %d", code, l.HighWatermark())
	}
	if code := l.CheckProduce(1); code != 0 {
		t.Fatalf("acks=1 refused: %d", code)
	}
}
