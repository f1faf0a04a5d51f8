package gen_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/sim/simnet"
	"github.com/weir-dev/weir/sim/world"
	"github.com/weir-dev/weir/workloads/gen"
)

// A read_committed consumer that read a transaction's record in one leader
// epoch and its commit marker, written in the next, must not report a data
// loss when the leader epoch moves again (issues 11 and 13: seeds 7012 and
// 5278). Kafka's leader answers OffsetForLeaderEpoch for the record's epoch
// with where that epoch ends, the marker's offset, below the consumer's
// position past the marker; only a position that carries the marker's
// epoch (the Java consumer's, and kgo's with control records kept:
// gen.ReadCommitted) passes the check.
//
// The plain kgo options are the planted defect: the test shows they do
// report the false loss, so that the check of gen.ReadCommitted means
// something (if kgo ever takes the epoch of control batches itself, that
// half fails and says so).
func TestReadCommittedPositionSurvivesEpochChangesAfterMarkers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []kgo.Opt
		wantLoss bool
	}{
		{"kgo read_committed (control records dropped)", []kgo.Opt{kgo.FetchIsolationLevel(kgo.ReadCommitted())}, true},
		{"gen.ReadCommitted", gen.ReadCommitted(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loss := positionAcrossEpochs(t, tc.opts)
			if loss != nil {
				t.Logf("data loss reported: %v", loss)
			}
			switch {
			case tc.wantLoss && loss == nil:
				t.Fatal("kgo reported no data loss: does it now keep the epoch of control batches? then gen.ReadCommitted may no longer be needed")
			case !tc.wantLoss && loss != nil:
				t.Fatalf("a false data loss after a leader epoch change: %v", loss)
			}
		})
	}
}

// positionAcrossEpochs commits a transaction whose record is in one leader
// epoch and whose marker is in the next, consumes both with a consumer made
// with opts, moves the leader epoch again, and returns the data loss the
// consumer reports then (nil: none).
func positionAcrossEpochs(t *testing.T, opts []kgo.Opt) *kgo.ErrDataLoss {
	w := startWorld(t, 13, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const topic = "t"
	admin := kadm.NewClient(client(t, w, "admin"))
	if resp, err := admin.CreateTopic(ctx, 1, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}

	producer := client(t, w, "producer", kgo.TransactionalID("tx"), kgo.DefaultProduceTopic(topic))
	if err := producer.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	recordEpoch := reboot(ctx, t, w, admin, topic, -1)
	if err := producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}

	consumer := client(t, w, "consumer", append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))...)
	var read bool
	for !read {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the committed record was not read")
		}
		fs.EachRecord(func(r *kgo.Record) { read = read || string(r.Value) == "a" })
	}
	reboot(ctx, t, w, admin, topic, recordEpoch)

	// A record after the second reboot: once the consumer reads it, it has
	// validated its position in the new epoch and fetched there.
	if err := client(t, w, "plain", kgo.DefaultProduceTopic(topic)).ProduceSync(ctx, &kgo.Record{Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return pollForLoss(ctx, t, consumer, "the record produced after the second reboot", func(r *kgo.Record) bool { return string(r.Value) == "b" }, nil)
}

// reboot stops the single broker cleanly and starts it again, then waits
// until the partition has a leader in a leader epoch above after, and
// returns that epoch. With after < 0 it returns the epoch before the
// reboot (the one records were appended in).
func reboot(ctx context.Context, t *testing.T, w *world.World, admin *kadm.Client, topic string, after int32) int32 {
	t.Helper()
	before := leaderEpoch(ctx, t, admin, topic)
	if err := w.Reboot("n1"); err != nil {
		t.Fatal(err)
	}
	for {
		if e := leaderEpoch(ctx, t, admin, topic); e > before && e > after {
			if after < 0 {
				return before
			}
			return e
		}
		if ctx.Err() != nil {
			t.Fatalf("the leader epoch did not move past %d after the reboot", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leaderEpoch is partition 0's leader epoch, -1 while it has no leader.
func leaderEpoch(ctx context.Context, t *testing.T, admin *kadm.Client, topic string) int32 {
	t.Helper()
	md, err := admin.Metadata(ctx, topic)
	if err != nil {
		return -1
	}
	p, ok := md.Topics[topic].Partitions[0]
	if !ok || p.Leader < 0 || p.Err != nil {
		return -1
	}
	return p.LeaderEpoch
}

// pollForLoss polls consumer until it returns a record for which want is
// true (the test fails when ctx ends first: "never read" what) and
// returns the first data loss kgo reported on the way, or nil. seen, when
// not nil, gets every poll's fetches until a loss is reported.
func pollForLoss(ctx context.Context, t *testing.T, consumer *kgo.Client, what string, want func(*kgo.Record) bool, seen func(kgo.Fetches)) *kgo.ErrDataLoss {
	t.Helper()
	var loss *kgo.ErrDataLoss
	for read := false; !read; {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("the consumer never read %s", what)
		}
		if loss == nil {
			loss = dataLoss(fs)
		}
		if loss == nil && seen != nil {
			seen(fs)
		}
		fs.EachRecord(func(r *kgo.Record) { read = read || want(r) })
	}
	return loss
}

// dataLoss returns the first data loss that fs reports, or nil.
func dataLoss(fs kgo.Fetches) *kgo.ErrDataLoss {
	var loss *kgo.ErrDataLoss
	fs.EachError(func(_ string, _ int32, err error) {
		var l *kgo.ErrDataLoss
		if errors.As(err, &l) && loss == nil {
			loss = l
		}
	})
	return loss
}

// startWorld starts a one-broker simulated world of seed (its brokers'
// configuration edited by configure, when not nil) on fast links, closed
// when the test ends; a failed test logs its trace.
func startWorld(t *testing.T, seed uint64, configure func(string, *broker.Config)) *world.World {
	t.Helper()
	return startWorldOf(t, seed, world.Config{Broker: configure})
}

// startWorldOf starts the world cfg describes, of seed, with warnings
// only, a 20 s liveness timeout and fast links, closed when the test
// ends; a failed test logs its trace.
func startWorldOf(t *testing.T, seed uint64, cfg world.Config) *world.World {
	t.Helper()
	cfg.LogLevel = slog.LevelWarn
	cfg.LivenessTimeout = 20 * time.Second
	cfg.Net = simnet.Options{LatencyMin: 20 * time.Microsecond, LatencyMax: 300 * time.Microsecond, Jitter: 100 * time.Microsecond}
	w := world.New(rand.New(rand.NewPCG(seed, 0)), cfg)
	if err := w.StartAll(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("trace:\n%s", strings.Join(w.Trace(), "\n"))
		}
	})
	return w
}

func client(t *testing.T, w *world.World, name string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.SeedBrokers(w.BootstrapAddrs()...),
		kgo.Dialer(w.ClientDialer(name)),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(20 * time.Millisecond),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
