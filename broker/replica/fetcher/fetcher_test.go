package fetcher_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/epoch"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/broker/txn"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/sim/simnet"
)

// logPartition is the follower side of a partition as the broker must
// implement fetcher.Partition: its log, its leader-epoch cache and its
// producer state, kept in step.
type logPartition struct {
	t         testing.TB
	log       *wlog.Log
	cache     *epoch.Cache
	producers *txn.PartitionProducers
	hw        atomic.Int64
	stopped   atomic.Bool // any call after Manager.Stop is a test failure
	calls     atomic.Int64
}

func newLogPartition(t testing.TB, fs env.FS, dir string, existing ...[]byte) *logPartition {
	l, err := wlog.Open(fs, env.RealClock{}, dir, wlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cache, _, err := epoch.Open(fs, dir, l)
	if err != nil {
		t.Fatal(err)
	}
	p := &logPartition{t: t, log: l, cache: cache, producers: txn.NewPartitionProducers()}
	for _, raw := range existing {
		b, err := record.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendReplicated([]record.Batch{b}); err != nil {
			t.Fatal(err)
		}
	}
	p.calls.Store(0)
	return p
}

func (p *logPartition) touch() {
	p.calls.Add(1)
	if p.stopped.Load() {
		p.t.Error("the fetcher called a partition after Stop returned")
	}
}

func (p *logPartition) StartOffset() int64   { p.touch(); return p.log.StartOffset() }
func (p *logPartition) EndOffset() int64     { p.touch(); return p.log.EndOffset() }
func (p *logPartition) DurableOffset() int64 { p.touch(); return p.log.SyncedOffset() }
func (p *logPartition) LatestEpoch() int32   { p.touch(); return p.cache.LatestEpoch() }
func (p *logPartition) EndOffsetForEpoch(e int32) (int32, int64) {
	p.touch()
	return p.cache.EndOffsetFor(e, p.log.EndOffset())
}
func (p *logPartition) Sync() error { p.touch(); return p.log.Sync() }

func (p *logPartition) TruncateTo(offset int64) error {
	p.touch()
	if err := p.log.TruncateTo(offset); err != nil {
		return err
	}
	if err := p.cache.TruncateFromEnd(offset); err != nil {
		return err
	}
	// The producer entries of the cut batches cannot be undone one by one:
	// rebuild from the log that is left (the broker: from the newest
	// producer snapshot at or below the new end, removing those above it).
	p.producers.Reset()
	return p.log.Batches(p.log.StartOffset(), func(b *record.Batch) error {
		p.producers.Replay(b)
		return nil
	})
}

func (p *logPartition) TruncateFullyAndStartAt(offset int64) error {
	p.touch()
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	p.producers.Reset()
	return p.cache.Clear()
}

func (p *logPartition) AppendReplicated(batches []record.Batch) error {
	p.touch()
	for i := range batches {
		b := &batches[i]
		if err := p.cache.Assign(b.PartitionLeaderEpoch, b.FirstOffset); err != nil {
			return err
		}
		if _, err := p.log.AppendReplicated(b.Raw); err != nil {
			return err
		}
		p.producers.Replay(b)
	}
	return nil
}

func (p *logPartition) InheritTombstoneMark(m replica.TombstoneMark) error {
	p.touch()
	return p.log.InheritTombstoneMark(wlog.TombstoneMark{Below: m.Below, Gen: m.Gen})
}

func (p *logPartition) SetHighWatermark(hw int64) { p.touch(); p.hw.Store(hw) }

var _ fetcher.Partition = (*logPartition)(nil)

// idempotent builds producer 7's batch of n records at sequence seq.
func idempotent(seq int32, n int) []byte {
	values := make([][]byte, n)
	for i := range values {
		values[i] = []byte{byte(seq), byte(i)}
	}
	return recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: 7, BaseSequence: seq}, values...)
}

// placed is a batch as a leader stored it.
func placed(raw []byte, base int64, leaderEpoch int32) []byte {
	record.SetBaseOffset(raw, base)
	record.SetLeaderEpoch(raw, leaderEpoch)
	return raw
}

var topicID = [16]byte{1, 2, 3}

var tp0 = fetcher.TopicPartition{Topic: "payments", TopicID: topicID, Partition: 0}

type world struct {
	net *simnet.Network
	ctx context.Context
}

func newWorld(t *testing.T) *world {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &world{net: simnet.New(rand.New(rand.NewPCG(1, 2)), simnet.Options{}), ctx: ctx}
}

func (w *world) manager(t *testing.T, id int32, follower replica.FollowerConfig) *fetcher.Manager {
	m := fetcher.NewManager(w.ctx, fetcher.Config{
		LocalID:    id,
		Net:        w.net.Host("n2"),
		Clock:      env.RealClock{},
		MaxWait:    50 * time.Millisecond,
		BackoffMin: 5 * time.Millisecond,
		BackoffMax: 20 * time.Millisecond,
		Follower:   follower,
		OnError:    func(tp fetcher.TopicPartition, err error) { t.Errorf("%s failed: %v", tp, err) },
	})
	t.Cleanup(m.Close)
	return m
}

func assignment(leader, leaderEpoch int32) replica.Assignment {
	return replica.Assignment{Leader: leader, LeaderEpoch: leaderEpoch, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
}

// eventually polls cond for up to 10 s of real time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sameLog checks that two logs hold the same bytes at the same offsets.
func sameLog(t *testing.T, got, want *wlog.Log) {
	t.Helper()
	var a, b [][]byte
	collect := func(l *wlog.Log, out *[][]byte) {
		if err := l.Batches(l.StartOffset(), func(x *record.Batch) error {
			*out = append(*out, bytes.Clone(x.Raw))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	collect(got, &a)
	collect(want, &b)
	if len(a) != len(b) {
		t.Fatalf("follower has %d batches, leader %d", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("batch %d differs from the leader's", i)
		}
	}
}

// A follower copies the leader's batches byte for byte at the leader's
// offsets, learns the high watermark, and rebuilds the producer state as it
// goes, so a retry of a batch is recognised after a failover.
func TestFollowerReplicatesLeader(t *testing.T) {
	for _, onFetch := range []bool{false, true} {
		t.Run(map[bool]string{false: "offset-for-leader-epoch", true: "truncate-on-fetch"}[onFetch], func(t *testing.T) {
			w := newWorld(t)
			leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
			lp := leader.lead(tp0, 3, []int32{1, 2}, []int32{1, 2})
			for i := range 10 {
				leader.produce(tp0, idempotent(int32(i*2), 2))
			}
			m := w.manager(t, 2, replica.FollowerConfig{TruncateOnFetch: onFetch})
			p := newLogPartition(t, memfs.New(), "/f")
			if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 3), 0, p); err != nil {
				t.Fatal(err)
			}
			for i := 10; i < 20; i++ {
				leader.produce(tp0, idempotent(int32(i*2), 2))
			}
			eventually(t, "the follower to catch up and learn the high watermark", func() bool {
				return p.log.EndOffset() == 40 && p.hw.Load() == 40 && leader.highWatermark(tp0) == 40
			})
			hw, ok := m.Stop(tp0)
			if !ok || hw != 40 {
				t.Fatalf("Stop: hw %d %v", hw, ok)
			}
			p.stopped.Store(true)
			sameLog(t, p.log, lp.log)
			if got := p.cache.Entries(); len(got) != 1 || got[0] != (epoch.Entry{Epoch: 3, StartOffset: 0}) {
				t.Fatalf("follower epochs %v", got)
			}
			// The follower, promoted, recognises the producer's retry of its
			// last batch as a duplicate at the original offsets.
			retry, _ := record.Parse(idempotent(38, 2))
			if d := p.producers.Check(&retry); d.Action != txn.Duplicate || d.Original.BaseOffset != 38 {
				t.Fatalf("retry after failover: %+v", d)
			}
		})
	}
}

// A follower that comes back with a longer, divergent log (it led epoch 1
// and wrote records nobody else has) truncates to where epoch 1 ends on
// the leader, drops the producer state of what it cut, and converges.
func TestFollowerTruncatesDivergentLog(t *testing.T) {
	shared := [][]byte{placed(idempotent(0, 1), 0, 0), placed(idempotent(1, 2), 1, 0)}
	for _, onFetch := range []bool{false, true} {
		t.Run(map[bool]string{false: "offset-for-leader-epoch", true: "truncate-on-fetch"}[onFetch], func(t *testing.T) {
			w := newWorld(t)
			leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
			lp := leader.lead(tp0, 2, []int32{1, 2}, []int32{1, 2}, bytes.Clone(shared[0]), bytes.Clone(shared[1]))
			leader.produce(tp0, idempotent(3, 4)) // epoch 2 at [3,7)
			// The follower: epoch 0 as the leader, then its own epoch 1
			// suffix at [3,8) under another producer epoch.
			divergent := recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: 7, ProducerEpoch: 1}, []byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e"))
			p := newLogPartition(t, memfs.New(), "/f", bytes.Clone(shared[0]), bytes.Clone(shared[1]), placed(divergent, 3, 1))
			if p.log.EndOffset() != 8 {
				t.Fatalf("follower log ends at %d", p.log.EndOffset())
			}
			m := w.manager(t, 2, replica.FollowerConfig{TruncateOnFetch: onFetch})
			if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 2), 0, p); err != nil {
				t.Fatal(err)
			}
			eventually(t, "convergence", func() bool { return leader.highWatermark(tp0) == 7 && p.hw.Load() == 7 })
			m.Stop(tp0)
			sameLog(t, p.log, lp.log)
			if got := p.cache.Entries(); len(got) != 2 || got[1] != (epoch.Entry{Epoch: 2, StartOffset: 3}) {
				t.Fatalf("follower epochs %v", got)
			}
			if pr, _ := p.producers.Producer(7); pr.Epoch != 0 || pr.Batches[len(pr.Batches)-1].BaseOffset != 3 {
				t.Fatalf("producer state after truncation: %+v", pr)
			}
		})
	}
}

// A partition whose leader moves to another broker moves to that broker's
// fetcher; after Stop the fetcher never touches the partition again.
func TestFollowMovesAndStops(t *testing.T) {
	w := newWorld(t)
	l1 := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
	l3 := newFakeLeader(t, 3, w.net.Host("n3"), "n3:9092")
	l1.lead(tp0, 1, []int32{1, 2, 3}, []int32{1, 2, 3})
	l1.produce(tp0, idempotent(0, 3))
	m := w.manager(t, 2, replica.FollowerConfig{TruncateOnFetch: true})
	p := newLogPartition(t, memfs.New(), "/f")
	a := replica.Assignment{Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, a, 0, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first leader's records", func() bool { return p.log.EndOffset() == 3 })
	// Broker 3 takes over in epoch 2 with the same first records.
	first, _ := l1.parts[tp0].log.Read(0, 1<<20)
	l3.lead(tp0, 2, []int32{2, 3}, []int32{1, 2, 3}, first)
	l3.produce(tp0, idempotent(3, 2))
	a.Leader, a.LeaderEpoch, a.PartitionEpoch = 3, 2, 2
	if err := m.Follow(tp0, fetcher.Broker{ID: 3, Addr: "n3:9092"}, a, 0, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second leader's records", func() bool { return p.log.EndOffset() == 5 && p.hw.Load() == 5 })
	if st := m.Partitions(); len(st) != 1 || st[0].Leader != 3 || st[0].LeaderEpoch != 2 {
		t.Fatalf("status %+v", st)
	}
	if _, ok := m.Stop(tp0); !ok {
		t.Fatal("Stop: not followed")
	}
	p.stopped.Store(true)
	l3.produce(tp0, idempotent(5, 1))
	time.Sleep(100 * time.Millisecond) // two fetch rounds' worth
	if p.log.EndOffset() != 5 {
		t.Fatalf("appended after Stop: log ends at %d", p.log.EndOffset())
	}
	if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, replica.Assignment{Leader: 2, LeaderEpoch: 3, Replicas: []int32{1, 2, 3}, ISR: []int32{2}}, 0, p); !errors.Is(err, fetcher.ErrLeader) {
		t.Fatalf("Follow of a partition this broker leads: %v", err)
	}
}

// The fetcher ends with its context even while a fetch is blocked on a
// leader that stopped answering (a stalled host).
func TestManagerEndsWithContext(t *testing.T) {
	w := newWorld(t)
	leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
	leader.lead(tp0, 1, []int32{1, 2}, []int32{1, 2})
	ctx, cancel := context.WithCancel(w.ctx)
	m := fetcher.NewManager(ctx, fetcher.Config{LocalID: 2, Net: w.net.Host("n2"), Clock: env.RealClock{}, MaxWait: time.Hour, RequestTimeout: time.Hour})
	p := newLogPartition(t, memfs.New(), "/f")
	if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 1), 0, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a fetch in flight", func() bool {
		leader.mu.Lock()
		defer leader.mu.Unlock()
		return leader.fetches > 0
	})
	w.net.Stall("n1")
	defer w.net.Resume("n1")
	cancel()
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the fetcher did not end with its context")
	}
}

// failingNet refuses every dial and counts them.
type failingNet struct {
	mu    sync.Mutex
	dials int
}

func (n *failingNet) Listen(context.Context, string) (net.Listener, error) {
	return nil, errors.New("no")
}

func (n *failingNet) Dial(context.Context, string, string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dials++
	return nil, errors.New("connection refused")
}

func (n *failingNet) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials
}

// With the leader unreachable, the fetcher waits on its clock between
// attempts, doubling the wait up to BackoffMax: it never dials again
// before the clock moves, so it cannot spin.
func TestFetcherBacksOffWithoutSpinning(t *testing.T) {
	clock := env.NewManualClock(time.Unix(1_000_000, 0))
	n := &failingNet{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fetcher.NewManager(ctx, fetcher.Config{LocalID: 2, Net: n, Clock: clock, BackoffMin: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond})
	defer m.Close()
	p := newLogPartition(t, memfs.New(), "/f")
	if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 1), 0, p); err != nil {
		t.Fatal(err)
	}
	want := 1
	for _, step := range []time.Duration{100, 200, 400, 400, 400} {
		eventually(t, "a dial", func() bool { return n.count() == want })
		time.Sleep(20 * time.Millisecond) // real time passes; the fetcher's clock does not
		if got := n.count(); got != want {
			t.Fatalf("%d dials without the clock moving, want %d", got, want)
		}
		clock.Advance(step*time.Millisecond - time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		if got := n.count(); got != want {
			t.Fatalf("dialled again %v early", time.Millisecond)
		}
		clock.Advance(time.Millisecond)
		want++
	}
	eventually(t, "the last dial", func() bool { return n.count() == want })
}

// jumpClock is the simulation's node clock in small: Now reads the real
// time plus an offset (a jump of the wall clock), which timers do not see.
type jumpClock struct {
	env.RealClock
	offset atomic.Int64
}

func (c *jumpClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// A partition backed off while the wall clock was an hour ahead fetches
// again within BackoffMax once the clock is reset, not an hour later (seed
// 5173: a follower that learned of a new leader before the leader did
// backed off under a +66 s jump and sat out the whole liveness phase).
func TestBackoffSurvivesWallClockGoingBack(t *testing.T) {
	w := newWorld(t)
	leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
	clock := &jumpClock{}
	clock.offset.Store(int64(time.Hour))
	m := fetcher.NewManager(w.ctx, fetcher.Config{
		LocalID: 2, Net: w.net.Host("n2"), Clock: clock,
		MaxWait: time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		OnError: func(tp fetcher.TopicPartition, err error) { t.Errorf("%s failed: %v", tp, err) },
	})
	t.Cleanup(m.Close)
	p := newLogPartition(t, memfs.New(), "/f")
	// The follower learns of the partition before its leader does: the
	// leader answers UNKNOWN_TOPIC_ID, a retriable error.
	if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 1), 0, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two refused fetches", func() bool {
		leader.mu.Lock()
		defer leader.mu.Unlock()
		return leader.fetches >= 2
	})
	time.Sleep(30 * time.Millisecond) // the fetcher is most likely backing off now
	clock.offset.Store(0)
	leader.lead(tp0, 1, []int32{1, 2}, []int32{1, 2})
	leader.produce(tp0, idempotent(0, 3))
	eventually(t, "the follower to fetch after the clock reset", func() bool { return p.log.EndOffset() == 3 })
}
