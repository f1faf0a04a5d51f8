package fetcher_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/sim/simnet"
)

// BenchmarkIdleFetchRound measures a follower's fetch round of N idle
// partitions (the simulator's internal topics between appends): the
// fetcher's plan, the request, the fake leader's read and record of every
// partition, the answer and its handling, over the simulated network.
// MaxWait is 0, so the leader answers at once and rounds follow each
// other; ns/op is one round. "full" is a leader without fetch sessions
// (every request and answer names every partition), "session" one that
// serves them (after the first, requests and answers name none).
func BenchmarkIdleFetchRound(b *testing.B) {
	for _, n := range []int{10, 100} {
		for _, sessions := range []bool{false, true} {
			b.Run(fmt.Sprintf("partitions=%d/%s", n, map[bool]string{false: "full", true: "session"}[sessions]), func(b *testing.B) {
				benchIdleRounds(b, n, sessions)
			})
		}
	}
}

func benchIdleRounds(b *testing.B, n int, sessions bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &world{net: simnet.New(rand.New(rand.NewPCG(1, 2)), simnet.Options{}), ctx: ctx}
	leader := newFakeLeader(b, 1, w.net.Host("n1"), "n1:9092")
	if sessions {
		leader.useSessions(1)
	}
	m := fetcher.NewManager(w.ctx, fetcher.Config{
		LocalID: 2, Net: w.net.Host("n2"), Clock: env.RealClock{},
		MaxWait: time.Nanosecond, // MaxWaitMillis 0: answered at once
	})
	defer m.Close()
	for i := range n {
		tp := fetcher.TopicPartition{Topic: "idle", TopicID: [16]byte{9}, Partition: int32(i)}
		leader.lead(tp, 1, []int32{1, 2}, []int32{1, 2})
		p := newLogPartition(b, memfs.New(), "/"+tp.String())
		if err := m.Follow(tp, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 1), 0, p); err != nil {
			b.Fatal(err)
		}
	}
	fetches := func() int {
		leader.mu.Lock()
		defer leader.mu.Unlock()
		return leader.fetches
	}
	waitFetches := func(target int) {
		for fetches() < target {
			time.Sleep(time.Millisecond)
		}
	}
	waitFetches(10) // sessions opened, every partition caught up
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	waitFetches(fetches() + b.N)
	b.StopTimer()
	// Wall time includes the hand-offs between goroutines; CPU time is
	// what a round costs the machine (the simulator's guest pays it on
	// one thread).
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
