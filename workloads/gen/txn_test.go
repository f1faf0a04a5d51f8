package gen_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/gen/gentest"
)

// refusingCoordinator starts a kfake cluster whose coordinator answers the
// first refused InitProducerId requests (every one when refused is
// negative) with CONCURRENT_TRANSACTIONS, as one still writing the markers
// of the transactional id's last transaction does, and returns a new
// transactional client against it and the count of InitProducerId
// requests seen.
func refusingCoordinator(t *testing.T, refused int32) (*kgo.Client, *atomic.Int32) {
	t.Helper()
	addrs, seen := gentest.RefusingCoordinator(t, "t", refused)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("tx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, seen
}

// beginWithin runs gen.BeginTxn on cl with a deadline of 200ms, counting
// its crashes, and fails the test instead of hanging when it has not
// returned within 10s.
func beginWithin(t *testing.T, cl *kgo.Client) (crashes int, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var crashed atomic.Int32
	done := make(chan error, 1)
	go func() { done <- gen.BeginTxn(ctx, cl.BeginTransaction, func() { crashed.Add(1); cl.Close() }) }()
	select {
	case err := <-done:
		return int(crashed.Load()), err
	case <-time.After(10 * time.Second):
		t.Fatal("BeginTxn did not return within 10s of its 200ms deadline")
		return 0, nil
	}
}

// TestBeginTxnGivesUpWithItsContext (seed 20104): a begin whose
// InitProducerId is answered CONCURRENT_TRANSACTIONS forever returns the
// context's error once it ends, having crashed (closed) the client, which
// is what makes kgo's own BeginTransaction return.
func TestBeginTxnGivesUpWithItsContext(t *testing.T) {
	cl, seen := refusingCoordinator(t, -1)
	crashes, err := beginWithin(t, cl)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	if crashes != 1 {
		t.Errorf("%d crashes, want 1", crashes)
	}
	if seen.Load() < 2 {
		t.Errorf("%d InitProducerId requests, want kgo's retries before the deadline", seen.Load())
	}
}

// TestBeginTxnWaitsOutAShortRefusal: two CONCURRENT_TRANSACTIONS, then the
// producer id: the transaction begins, and the client is not crashed.
func TestBeginTxnWaitsOutAShortRefusal(t *testing.T) {
	cl, seen := refusingCoordinator(t, 2)
	crashes, err := beginWithin(t, cl)
	if err != nil || crashes != 0 {
		t.Fatalf("got %v after %d crashes, want the transaction begun and no crash", err, crashes)
	}
	if seen.Load() != 3 {
		t.Errorf("%d InitProducerId requests, want 3 (two refused, one accepted)", seen.Load())
	}
}
