package world_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/sim/world"
)

// TestWallClockJumpsLeaveISRAlone: the replica leader measures a
// follower's lag (replica.lag.time.max.ms) on monotonic time, so its wall
// clock's steps change nothing.
//
//   - Ahead: with the leader's wall clock an hour ahead, a follower paused
//     for less than the lag limit while records arrive stays in the ISR.
//     On the wall clock it had last caught up an hour ago, and the next
//     ISR check shrank the ISR.
//   - Back: with the clock an hour behind again, a follower paused for
//     several lag limits leaves the ISR. On the wall clock it had caught
//     up an hour in the future and stayed in for the hour, holding the
//     high watermark (and every acks=all produce) back.
func TestWallClockJumpsLeaveISRAlone(t *testing.T) {
	// The pause below must span an ISR check (every lagMax/2) and stay
	// under lagMax by more than the follower's long-poll (up to 500 ms:
	// a parked fetch caught up when it arrived, not when the pause began)
	// plus what a loaded machine adds on real time. With a 1 s limit and
	// a 0.8 s pause it did not (the ISR shrank 0.57 s into the pause).
	const lagMax = 3 * time.Second
	w := startWorld(t, 43, world.Config{
		Nodes: 3,
		Broker: func(_ string, cfg *broker.Config) {
			cfg.ReplicaLagTimeMax = lagMax // ISR checks every 1.5 s
		},
	})
	ready(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, w, "admin"))
	insync := "2"
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": &insync}, "t")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"), kgo.ProducerLinger(0))
	produce := func(v string) {
		t.Helper()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	produce("warm-up")
	// Native tests run on real time: on a loaded machine a follower may
	// miss the first lag limit and leave and rejoin the ISR before the
	// test begins.
	var p kadm.PartitionDetail
	waitFor(t, "all three replicas in the ISR", func() bool {
		md, err := adm.Metadata(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		p = md.Topics["t"].Partitions[0]
		return len(p.ISR) == 3
	})
	leader := w.NodeName(p.Leader)
	follower := w.NodeName(p.Leader%3 + 1)
	paused := false
	pause := func(on bool) {
		t.Helper()
		f := w.Resume
		if on {
			f = w.Pause
		}
		if err := f(follower); err != nil {
			t.Fatal(err)
		}
		paused = on
	}
	t.Cleanup(func() {
		if paused { // a failure while paused: the world cannot close a paused node
			_ = w.Resume(follower)
		}
	})
	before := strings.Count(strings.Join(w.Trace(), "\n"), `msg="ISR changed" topic=t `)
	isrChanges := func() int {
		return strings.Count(strings.Join(w.Trace(), "\n"), `msg="ISR changed" topic=t `) - before
	}

	// Ahead: the follower falls behind by a record for just over half a lag
	// limit, across an ISR check.
	if err := w.JumpClock(leader, time.Hour); err != nil {
		t.Fatal(err)
	}
	pause(true)
	behind := make(chan error, 1)
	go func() {
		// acks=all: answered once the paused follower has fetched these.
		behind <- cl.ProduceSync(ctx, &kgo.Record{Value: []byte("while-paused")}).FirstErr()
	}()
	time.Sleep(lagMax/2 + 100*time.Millisecond) // an ISR check at least
	pause(false)
	if err := <-behind; err != nil {
		t.Fatalf("produce while the follower was paused: %v", err)
	}
	for i := range 5 {
		produce(fmt.Sprintf("after-%d", i))
	}
	if n := isrChanges(); n != 0 {
		t.Fatalf("the ISR changed %d times after the leader's wall clock jumped an hour ahead", n)
	}

	// Back: the follower stops until it leaves the ISR, as it must.
	if err := w.JumpClock(leader, -time.Hour); err != nil {
		t.Fatal(err)
	}
	produce("back")
	pause(true)
	go func() { behind <- cl.ProduceSync(ctx, &kgo.Record{Value: []byte("while-stopped")}).FirstErr() }()
	waitFor(t, "the stopped follower to leave the ISR", func() bool { return isrChanges() > 0 })
	if err := <-behind; err != nil {
		t.Fatalf("produce while the follower was stopped: %v", err)
	}
	pause(false)
}
