package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/faults"
)

// The transactional mode is the seed's on about a quarter of the seeds,
// and --txn on/off overrides it; replica.lag.time.max is Kafka's 30 s on
// about half of them, 10 or 5 s on the others.
func TestSeedDrawsTxnAndReplicaLag(t *testing.T) {
	const n = 2000
	txn := 0
	lags := map[time.Duration]int{}
	for s := uint64(1); s <= n; s++ {
		if drawTxn("seed", s) {
			txn++
		}
		if !drawTxn("on", s) || drawTxn("off", s) {
			t.Fatalf("seed %d: --txn on/off not obeyed", s)
		}
		lags[drawReplicaLag(s, false)]++
		if lone := drawReplicaLag(s, true); lone > 10*time.Second || (drawReplicaLag(s, false) <= 10*time.Second && lone != drawReplicaLag(s, false)) {
			t.Fatalf("seed %d: lone-leader runs draw a lag of %v, plain runs %v", s, lone, drawReplicaLag(s, false))
		}
	}
	if txn < n/5 || txn > n*3/10 {
		t.Errorf("%d of %d seeds transactional, want about a quarter", txn, n)
	}
	if len(lags) != 3 || lags[30*time.Second] < n*2/5 || lags[5*time.Second] < n/6 || lags[10*time.Second] < n/6 {
		t.Errorf("replica lag draws %v", lags)
	}
	if checkTxnMode("maybe") == nil || checkTxnMode("seed") != nil {
		t.Error("--txn values not checked")
	}
}

// A world run's parameters carry the draws, and the transactional ones
// give the queue a transactional mode.
func TestWorldParamsCarryTxn(t *testing.T) {
	f, err := parseFlags([]string{"--seed", "3", "--txn", "on"})
	if err != nil {
		t.Fatal(err)
	}
	p := deriveParams(f, scenarios["world"])
	if p.World == nil || !p.World.Txn || p.World.ReplicaLagMs <= 0 || txnConfig(p.World) == nil {
		t.Fatalf("params %+v", p.World)
	}
	p.World.Txn = false
	if txnConfig(p.World) != nil {
		t.Fatal("a non-transactional run got a transactional mode")
	}
	if _, err := parseFlags([]string{"--txn", "sometimes"}); err == nil {
		t.Fatal("--txn sometimes accepted")
	}
}

// Late requests: the producer hosts' EndTxn (most often) or produce, held
// past the clients' 5 s request timeout and landing within the safety
// phase, a function of the seed.
func TestLateRequests(t *testing.T) {
	p := params{Seed: 5, World: &worldParams{Producers: 2}}
	a, b := lateRequests(p, 20*time.Second), lateRequests(p, 20*time.Second)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d then %d events", len(a), len(b))
	}
	endTxn := 0
	for i, e := range a {
		if e.String() != b[i].String() {
			t.Fatalf("event %d: %v, then %v", i, e, b[i])
		}
		if e.Op != faults.OpLateRequest {
			continue
		}
		if e.Node != "producer-0" && e.Node != "producer-1" || e.Hold <= 5*time.Second {
			t.Errorf("%v", e)
		}
		// It lands while the clients still run transactions, even
		// when written at its window's end (the heal after it).
		if end := a[i+1].At; end+e.Hold > 20*time.Second {
			t.Errorf("%v: written by %v, it lands after the safety phase", e, end)
		}
		if e.Request == kmsg.EndTxn.Int16() {
			endTxn++
		}
	}
	if endTxn == 0 {
		t.Errorf("no late EndTxn in %v", a)
	}
}

// Late AlterPartitions: every broker host, and only brokers, armed for its
// next AlterPartition, held 2-12 s and landing within the safety phase, a
// function of the seed; each broker draws on its own stream, so a broker
// more leaves the others' arms as they were.
func TestLateAlterPartitions(t *testing.T) {
	const d = 60 * time.Second
	three := []string{"n1", "n2", "n3"}
	a, b := lateAlterPartitions(5, three, d), lateAlterPartitions(5, three, d)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d then %d events", len(a), len(b))
	}
	armed := map[string]int{}
	for i, e := range a {
		if e.String() != b[i].String() {
			t.Fatalf("event %d: %v, then %v", i, e, b[i])
		}
		if e.Op != faults.OpLateRequest {
			continue
		}
		armed[e.Node]++
		if e.Request != kmsg.AlterPartition.Int16() || e.Hold < 2*time.Second || e.Hold > 12*time.Second {
			t.Errorf("%v", e)
		}
		if end := a[i+1].At; a[i+1].Op != faults.OpLateRequestHeal || end+e.Hold > d {
			t.Errorf("%v: healed by %v, it may land after the safety phase", e, a[i+1])
		}
	}
	for _, n := range three {
		if armed[n] == 0 {
			t.Errorf("%s never armed: %v", n, armed)
		}
	}
	if len(armed) != len(three) {
		t.Errorf("armed hosts %v", armed)
	}
	four := lateAlterPartitions(5, append(three, "n4"), d)
	var kept []faults.Event
	for _, e := range four {
		if e.Node != "n4" {
			kept = append(kept, e)
		}
	}
	if fmt.Sprint(kept) != fmt.Sprint(a) {
		t.Errorf("a fourth broker changed the others' arms:\n%v\n%v", a, kept)
	}
	if err := (faults.Schedule{Duration: d}).Merge(four).Check(faults.Atlas{}, append(three, "n4")); err != nil {
		t.Error(err)
	}
}

// TestLateAltersLeaveLoneLeaderRuns: late AlterPartitions go into runs with
// partitions (the windows when crashes and three brokers allow them), and
// never into lone-leader or unclean-election runs, whose own windows they
// would break.
func TestLateAltersLeaveLoneLeaderRuns(t *testing.T) {
	const d = 60 * time.Second
	three := []string{"n1", "n2", "n3"}
	all, err := faults.Parse("partition,crash")
	if err != nil {
		t.Fatal(err)
	}
	if evs := lateAlters(params{Seed: 5}, all, three, faults.Schedule{Duration: d}, d); len(evs) == 0 {
		t.Fatal("no late AlterPartition in a run with partitions and crashes")
	}
	for _, p := range []params{{Seed: 5, LoneLeader: true}, {Seed: 5, UncleanElection: true}} {
		if evs := lateAlters(p, all, three, faults.Schedule{Duration: d}, d); len(evs) != 0 {
			t.Errorf("%+v: %d late-AlterPartition events, want none", p, len(evs))
		}
	}
}
