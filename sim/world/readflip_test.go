package world_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/sim/world"
)

// produceN produces v<from>..v<to-1> one at a time (one batch each) with
// acks=all and fails the test on any error.
func produceN(t *testing.T, cl *kgo.Client, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := from; i < to; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("v%d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce v%d: %v", i, err)
		}
	}
}

func wantAll(t *testing.T, got map[string]int64, n int) {
	t.Helper()
	for i := range n {
		if _, ok := got[fmt.Sprintf("v%d", i)]; !ok {
			t.Errorf("v%d was acknowledged but is gone", i)
		}
	}
}

// TestRecoveryReadFlipKeepsAcknowledgedWrites: after a crash, the restart's
// recovery reads the segment with a bit flipped on the way from the disk (the
// stored bytes are intact). Recovery must not take the flip for a corrupt
// tail: every acknowledged write survives. A recovery that trusts its one
// read truncates the log at the flipped batch and loses the rest.
func TestRecoveryReadFlipKeepsAcknowledgedWrites(t *testing.T) {
	for flips := 1; flips <= 3; flips++ {
		for _, seed := range []uint64{11, 12, 13} {
			t.Run(fmt.Sprintf("flips=%d/seed=%d", flips, seed), func(t *testing.T) {
				w := newWorld(t, seed, world.Config{})
				createTopic(t, w, "t")
				cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
				const n = 40
				produceN(t, cl, 0, n)
				cl.Close()
				if err := w.Crash("n1", 0.5); err != nil {
					t.Fatal(err)
				}
				// Every read of the segment may flip, until flips are spent:
				// the first is the recovery scan of t-0's only segment (not the
				// metadata quorum's WAL, wal-*.log).
				if err := w.SetReadFlipsOn("n1", 1, flips, "/t-0/00000000000000000000.log"); err != nil {
					t.Fatal(err)
				}
				if err := w.Restart("n1"); err != nil {
					t.Fatal(err)
				}
				// The partition's recovery runs when the broker's
				// reconciler opens it, after the restart returned.
				flipped := "disk n1: bit flip injected on read-at /weir/t-0/00000000000000000000.log off=0"
				waitFor(t, "the flipped recovery scan", func() bool { return strings.Contains(strings.Join(w.Trace(), "\n"), flipped) })
				ready(t, w)
				wantAll(t, readAll(t, w, "reader", "t"), n)
			})
		}
	}
}

// TestRestartReadFlipsOnMetadata: after a crash, the restart reads
// meta.properties (the node's identity) with bits flipped on the way (up to
// the atlas's bound on flips per window, every read flipped). It carries a
// CRC-32C and is read again, so the broker starts as the same node of the
// same cluster, with its topics and data.
func TestRestartReadFlipsOnMetadata(t *testing.T) {
	for _, file := range []string{"/meta.properties"} {
		t.Run(strings.TrimPrefix(file, "/"), func(t *testing.T) {
			w := newWorld(t, 21, world.Config{})
			createTopic(t, w, "t")
			cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
			const n = 20
			produceN(t, cl, 0, n)
			cl.Close()
			if err := w.Crash("n1", 0.5); err != nil {
				t.Fatal(err)
			}
			if err := w.SetReadFlipsOn("n1", 1, faults.AtlasFor(1).MaxReadFlips, file); err != nil {
				t.Fatal(err)
			}
			if err := w.Restart("n1"); err != nil {
				t.Fatal(err)
			}
			w.ClearDiskFaults("n1")
			trace := strings.Join(w.Trace(), "\n")
			if !strings.Contains(trace, "bit flip injected on read /weir"+file) {
				t.Fatalf("%s was not flipped:\n%s", file, trace)
			}
			ready(t, w)
			wantAll(t, readAll(t, w, "reader", "t"), n)
		})
	}
}

// TestFetchReadFlipIsRetried: a fetch whose read returns a flipped bit is
// answered KAFKA_STORAGE_ERROR (the log's CRC or header checks) or, when the
// flip hits a later batch of the read, served the good prefix; either way
// the client retries and reads everything, and the partition stays online:
// produces go on. (A flip in a field outside the CRC that the read does not
// use, such as a header's CRC field on the header-only read, is harmless.)
func TestFetchReadFlipIsRetried(t *testing.T) {
	failed := 0
	for _, seed := range []uint64{21, 22, 25} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w := newWorld(t, seed, world.Config{})
			createTopic(t, w, "t")
			cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
			produceN(t, cl, 0, 20)
			if err := w.SetReadFlips("n1", 1, 1); err != nil {
				t.Fatal(err)
			}
			wantAll(t, readAll(t, w, "reader", "t"), 20)
			trace := strings.Join(w.Trace(), "\n")
			if !strings.Contains(trace, "disk n1: bit flip injected on read-at /weir/t-0/") {
				t.Fatalf("no flip injected:\n%s", trace)
			}
			if strings.Contains(trace, "fetch read failed") {
				failed++
			}
			if strings.Contains(trace, "taking it offline") {
				t.Fatal("a failed read took the partition offline")
			}
			produceN(t, cl, 20, 30) // still writable
			wantAll(t, readAll(t, w, "reader2", "t"), 30)
		})
	}
	if failed == 0 {
		t.Fatal("no seed made a fetch fail: the test proves nothing about the error path")
	}
	t.Logf("%d seeds answered a fetch with KAFKA_STORAGE_ERROR", failed)
}

// TestRunWithReadFlipsKeepsAcknowledgedWrites: read flips on during the
// safety phase, across crashes and restarts, with a producer and a consumer
// running: the liveness phase converges and no acknowledged write is lost.
// A flip may also make a restart fail (the broker's producer-state replay
// reads the log and refuses a corrupt read); the node then stays down until
// the next restart, which is a delay, not a loss. With a recovery that
// trusts its one read, seeds 34, 35, 37 and 38 lose acknowledged writes.
func TestRunWithReadFlipsKeepsAcknowledgedWrites(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for seed := uint64(31); seed <= 38; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			// The flips start while n1 is down, so the restart's recovery
			// scan is the first read that may be flipped.
			s := faults.Schedule{Duration: ms(900), Events: []faults.Event{
				{At: ms(150), Op: faults.OpCrash, Node: "n1", Keep: 0.5},
				{At: ms(170), Op: faults.OpDiskFaults, Node: "n1", FlipProb: 0.2, Flips: 3},
				{At: ms(200), Op: faults.OpRestart, Node: "n1"},
				{At: ms(500), Op: faults.OpCrash, Node: "n1", Keep: 0.5},
				{At: ms(550), Op: faults.OpRestart, Node: "n1"},
				{At: ms(800), Op: faults.OpDiskHeal, Node: "n1"},
			}}
			if err := s.Check(faults.AtlasFor(1), []string{"n1"}); err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, seed, world.Config{})
			createTopic(t, w, "t")
			var p producer
			err := w.Run(context.Background(), s, func(ctx context.Context, w *world.World) {
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					cl := newClient(t, w, "consumer", kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
					for ctx.Err() == nil {
						cl.PollFetches(ctx)
					}
				}()
				p.run(ctx, newClient(t, w, "producer", kgo.DefaultProduceTopic("t")))
				wg.Wait()
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.count() == 0 {
				t.Fatal("nothing acknowledged: the test would prove nothing")
			}
			trace := strings.Join(w.Trace(), "\n")
			for _, want := range []string{"read flips on n1: p=0.20 max=3", "bit flip injected", "restart n1 (incarnation 2)"} {
				if !strings.Contains(trace, want) {
					t.Errorf("trace lacks %q", want)
				}
			}
			got := readAll(t, w, "reader", "t")
			for _, v := range p.acked {
				if _, ok := got[v]; !ok {
					t.Errorf("%s acknowledged but gone", v)
				}
			}
			t.Logf("seed %d: %d acked, %d flips injected, %d fetch read errors, %d failed restarts", seed, p.count(),
				strings.Count(trace, "bit flip injected"), strings.Count(trace, "fetch read failed"), strings.Count(trace, "restart n1 failed"))
		})
	}
}
