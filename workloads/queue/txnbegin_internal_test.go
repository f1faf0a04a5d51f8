package queue

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen/gentest"
)

// newTxnClient starts a kfake cluster whose transaction coordinator
// answers the first refused InitProducerId requests (every one when
// refused is negative) with CONCURRENT_TRANSACTIONS, as a coordinator
// still writing the markers of the transactional id's last transaction
// does, and returns a new transactional client against it (no producer id
// yet, as a new incarnation of the workload's producers) with the count of
// InitProducerId requests the cluster saw.
func newTxnClient(t *testing.T, refused int32) (*txnClient, *atomic.Int32) {
	t.Helper()
	addrs, seen := gentest.RefusingCoordinator(t, "t", refused)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	tc := &txnClient{id: "tx", cl: cl}
	t.Cleanup(tc.crash)
	return tc, seen
}

// runTxnWithin runs a one-send transaction through c (op timeout 100ms:
// the transaction's own deadline is 300ms) and fails the test if it has
// not returned within limit, instead of hanging it.
func runTxnWithin(t *testing.T, c *txnClient, limit time.Duration) (history.Type, string) {
	t.Helper()
	type result struct {
		typ history.Type
		why string
	}
	ran := make(chan result, 1)
	go func() {
		recs := []*kgo.Record{{Topic: "t", Value: []byte("p0-0")}}
		done := &history.Txn{Transactional: true, Mops: []history.Mop{{F: history.FnSend, Send: &history.Send{Topic: "t", Value: "p0-0"}}}}
		rec := history.NewRecorder(time.Now(), nil)
		typ, why := runTxn(c, recs, done, false, nil, []time.Duration{0}, 100*time.Millisecond, rec)
		ran <- result{typ, why}
	}()
	select {
	case r := <-ran:
		return r.typ, r.why
	case <-time.After(limit):
		t.Fatalf("the transaction did not end within %v of its 300ms deadline", limit)
		return "", ""
	}
}

// TestTxnBeginGivesUpWithItsDeadline (seed 20104): a transaction whose
// InitProducerId the coordinator answers CONCURRENT_TRANSACTIONS forever
// ends unknown when its deadline passes, with its client closed, instead
// of waiting in kgo's BeginTransaction (which takes no context) until the
// coordinator gives in: in the simulation it never did, since the
// partition holding the markers came back only in the liveness phase,
// after the workload returned.
func TestTxnBeginGivesUpWithItsDeadline(t *testing.T) {
	c, seen := newTxnClient(t, -1)
	typ, why := runTxnWithin(t, c, 10*time.Second)
	if typ != history.Info || !strings.HasPrefix(why, "begin: ") {
		t.Fatalf("got %v %q, want info with the begin's error", typ, why)
	}
	if c.cl != nil {
		t.Error("the client is still live after its transaction's begin gave up; want it closed (crashed)")
	}
	if seen.Load() < 2 {
		t.Errorf("%d InitProducerId requests, want kgo's retries before the deadline", seen.Load())
	}
}

// TestTxnBeginWaitsOutConcurrentTransactions: a coordinator that answers
// CONCURRENT_TRANSACTIONS a few times, then gives the producer its id,
// lets the transaction begin and commit within its deadline.
func TestTxnBeginWaitsOutConcurrentTransactions(t *testing.T) {
	c, seen := newTxnClient(t, 2)
	typ, why := runTxnWithin(t, c, 10*time.Second)
	if typ != history.OK {
		t.Fatalf("got %v %q, want the transaction committed", typ, why)
	}
	if seen.Load() != 3 {
		t.Errorf("%d InitProducerId requests, want 3 (two refused, one accepted)", seen.Load())
	}
}
