package queue_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

func startBroker(t *testing.T) string { return brokertest.Start(t) }

func TestRunAgainstWeir(t *testing.T) {
	addr := startBroker(t)
	const producers, sends = 3, 40
	cfg := queue.Config{
		Topic: "queue", Partitions: 3, Producers: producers, Consumers: 3,
		SendsPerProducer: sends, Duration: 20 * time.Second, Seed: 7,
		ReassignChance: 0.2, PollTimeout: 200 * time.Millisecond,
		Bootstrap: []string{addr},
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	if err := queue.FinalReads(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	h := rec.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	count := map[string]int{}
	var hwmSum int64
	for _, op := range h {
		open[op.Process] = op.Type == history.Invoke
		if op.Type != history.Invoke {
			count[op.F+" "+string(op.Type)]++
		}
		if op.F == history.FnFinal && op.Type == history.OK {
			if len(op.Final.Marks) != 3 {
				t.Errorf("final read covered %v, want 3 partitions", op.Final.Marks)
			}
			for _, m := range op.Final.Marks {
				hwmSum += m.HighWatermark
			}
		}
	}
	for p, o := range open {
		if o {
			t.Errorf("process %d left an op open", p)
		}
	}
	t.Logf("%d ops: %v", len(h), count)
	if count["send ok"] != producers*sends {
		t.Errorf("%d sends ok, want %d", count["send ok"], producers*sends)
	}
	if hwmSum != producers*sends || count["final ok"] != 1 {
		t.Errorf("final high watermarks sum to %d, want %d (final ok %d)", hwmSum, producers*sends, count["final ok"])
	}
	if count["assign ok"] == 0 || count["subscribe ok"] == 0 || count["poll ok"] == 0 {
		t.Errorf("consumers did not assign, subscribe and poll: %v", count)
	}
}

// cutDialer dials through the OS until cut, then refuses dials and closes
// every connection it made, like a client partitioned from the cluster.
type cutDialer struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (d *cutDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, errors.New("partitioned")
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cutDialer) set(cut bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = cut
	if cut {
		for _, c := range d.conns {
			c.Close()
		}
		d.conns = nil
	}
}

// TestRunPartitionedEnds cuts the clients off mid-run: sends must end info
// (never fail, never hang), Run must end on time, and after healing the
// final reads must find every acknowledged send.
func TestRunPartitionedEnds(t *testing.T) {
	addr := startBroker(t)
	d := &cutDialer{}
	cfg := queue.Config{
		Topic: "cut", Partitions: 2, Producers: 2, Consumers: 2,
		Rate: 100, Duration: 3 * time.Second, Seed: 3,
		OpTimeout: 500 * time.Millisecond, PollTimeout: 100 * time.Millisecond,
		Bootstrap: []string{addr}, Dialer: d.Dial,
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	timer := time.AfterFunc(time.Second, func() { d.set(true) })
	defer timer.Stop()
	start := time.Now()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > cfg.Duration+5*time.Second {
		t.Errorf("Run took %v with a %v duration", took, cfg.Duration)
	}
	d.set(false)
	if err := queue.FinalReads(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	h := rec.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	sent := map[history.Type]int{}
	acked := map[string]bool{}
	read := map[string]bool{}
	for _, op := range h {
		if op.F == history.FnSend && op.Type != history.Invoke {
			sent[op.Type]++
			if op.Type == history.OK {
				acked[op.Send.Value] = true
			}
		}
		if op.Poll != nil && op.Process == queue.FinalReader {
			for _, pr := range op.Poll.Reads {
				for _, r := range pr.Records {
					read[r.Value] = true
				}
			}
		}
	}
	t.Logf("sends: %v", sent)
	if v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()}); !v.Valid() || v.Stats.SendsInfo != sent[history.Info] {
		t.Errorf("partitioned history judged:\n%s", v.Summary())
	}
	if sent[history.OK] == 0 || sent[history.Info] == 0 || sent[history.Fail] != 0 {
		t.Errorf("sends %v: want some ok before the cut, some info after, no fail", sent)
	}
	for v := range acked {
		if !read[v] {
			t.Errorf("acknowledged %s not in the final reads", v)
		}
	}
}
