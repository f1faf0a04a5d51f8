package queue_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

func startBroker(t *testing.T) string { return brokertest.Start(t) }

// runWithFinalReads runs the workload cfg describes and its final reads
// within timeout, and returns the history, which must be well-formed.
func runWithFinalReads(t *testing.T, cfg queue.Config, timeout time.Duration) []history.Op {
	t.Helper()
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
	return h
}

func TestRunAgainstWeir(t *testing.T) {
	addr := startBroker(t)
	const producers, sends = 3, 40
	cfg := queue.Config{
		Topic: "queue", Partitions: 3, Producers: producers, Consumers: 3,
		SendsPerProducer: sends, Duration: 20 * time.Second, Seed: 7,
		ReassignChance: 0.2, PollTimeout: 200 * time.Millisecond,
		Bootstrap: []string{addr},
	}
	h := runWithFinalReads(t, cfg, 40*time.Second)
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
	if v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()}); v.Outcome != checker.Valid {
		t.Errorf("a correct broker's history judged:\n%s", v.Summary())
	}
	pipelined(t, h)
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

// pipelined checks the history shows what the workload promises: a client
// with several sends open at once, keyed and unkeyed records, and every
// partition read with the watermarks the broker answered.
func pipelined(t *testing.T, h []history.Op) {
	t.Helper()
	open := map[int]int{} // client -> sends open
	maxOpen, keyed, unkeyed, reads, empty := 0, 0, 0, 0, 0
	for _, op := range h {
		if op.F == history.FnSend {
			if op.Type == history.Invoke {
				open[op.Send.Client]++
				maxOpen = max(maxOpen, open[op.Send.Client])
				if op.Send.Key == "" {
					unkeyed++
				} else {
					keyed++
				}
			} else {
				open[op.Send.Client]--
			}
		}
		if op.Poll == nil {
			continue
		}
		for _, pr := range op.Poll.Reads {
			reads++
			if pr.Error == "" && (pr.HighWatermark < 0 || pr.LogStartOffset < 0) {
				t.Errorf("op %d: %s/%d read without watermarks", op.Index, pr.Topic, pr.Partition)
			}
			if n := len(pr.Records); n > 0 && pr.Records[n-1].Offset >= pr.HighWatermark {
				t.Errorf("op %d: record at %d not below the high watermark %d", op.Index, pr.Records[n-1].Offset, pr.HighWatermark)
			}
			if len(pr.Records) == 0 {
				empty++
			}
		}
	}
	t.Logf("at most %d sends open in one client; %d keyed, %d unkeyed; %d partition reads, %d without records", maxOpen, keyed, unkeyed, reads, empty)
	if maxOpen < 2 || keyed == 0 || unkeyed == 0 || reads == 0 {
		t.Errorf("not pipelined (%d open at most) or not keyed and unkeyed (%d, %d)", maxOpen, keyed, unkeyed)
	}
}

// TestAcksLeader runs producers with acks=1 (idempotence off): a correct
// broker's history is valid with what the configuration allows.
func TestAcksLeader(t *testing.T) {
	cfg := queue.Config{
		Topic: "acks1", Partitions: 2, Producers: 2, InFlight: 3, Consumers: 2,
		SendsPerProducer: 30, Duration: 20 * time.Second, Seed: 5, Acks: queue.AcksLeader,
		PollTimeout: 200 * time.Millisecond, Bootstrap: []string{startBroker(t)},
	}
	if a := cfg.Allowed(); !slices.Contains(a, checker.LostWrite) || !slices.Contains(a, checker.Nonlinearizable) || !slices.Contains(a, checker.Duplicate) {
		t.Fatalf("acks=1 allows %v", a)
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
	v := checker.Check(rec.Ops(), checker.Opts{Allowed: cfg.Allowed()})
	if v.Outcome != checker.Valid || v.Stats.SendsOK != 60 {
		t.Fatalf("acks=1 history:\n%s", v.Summary())
	}
}

// TestFinalReadNotOK: a final read that cannot list or read every
// partition the topic should have ends info or fail, never ok, and the
// checker calls the run unknown.
func TestFinalReadNotOK(t *testing.T) {
	addr := startBroker(t)
	cfg := queue.Config{Topic: "short", Partitions: 2, Producers: 1, InFlight: 2, Consumers: 1,
		SendsPerProducer: 10, Duration: 20 * time.Second, PollTimeout: 200 * time.Millisecond, Bootstrap: []string{addr}}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	final := func(cfg queue.Config, within time.Duration) history.Op {
		fctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		if err := queue.FinalReads(fctx, cfg, rec); err == nil {
			t.Fatal("no error")
		}
		ops := rec.Ops()
		return ops[len(ops)-1]
	}
	// The topic has 2 partitions; a final read that expects 3 lists 2.
	three := cfg
	three.Partitions = 3
	if op := final(three, 10*time.Second); op.Type != history.Info || len(op.Final.Marks) != 2 || !op.Final.Marks[1].Complete {
		t.Fatalf("final read of a partition that is not there: %v", op)
	}
	// A topic that does not exist lists nothing.
	gone := cfg
	gone.Topic = "vanished"
	if op := final(gone, 2*time.Second); op.Type != history.Fail || len(op.Final.Marks) != 0 {
		t.Fatalf("final read of a vanished topic: %v", op)
	}
	h := rec.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()})
	if v.Outcome != checker.Unknown || !v.UnknownBecause(checker.FinalReadIncomplete) {
		t.Fatalf("incomplete final reads judged:\n%s", v.Summary())
	}
}
