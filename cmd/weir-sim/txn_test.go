package main

import (
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
		lags[drawReplicaLag(s)]++
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
