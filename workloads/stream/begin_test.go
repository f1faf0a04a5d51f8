package stream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/gen/gentest"
)

// TestTxnBeginGivesUpAndCrashes (the shape of seed 20104, which hung the
// queue's transactions): a member whose transaction coordinator answers
// InitProducerId CONCURRENT_TRANSACTIONS forever gives up its begin when
// its work context ends, crashes its incarnation once (the later crash of
// its run loop does nothing), and its client's close completes, instead
// of waiting in kgo's Begin, which takes no context.
func TestTxnBeginGivesUpAndCrashes(t *testing.T) {
	addrs, _ := gentest.RefusingCoordinator(t, "in", -1)
	kill := gen.NewKillable(nil)
	cc := gen.ClientConfig{Bootstrap: addrs, Dialer: kill.Dial, OpTimeout: 100 * time.Millisecond}
	sess, err := kgo.NewGroupTransactSession(cc.Options(kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"), kgo.TransactionalID("tx"))...)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{kill: kill, cc: cc, sess: sess, cl: sess.Client(), closing: new(sync.WaitGroup)}
	began := make(chan error, 1)
	go func() { began <- m.begin() }()
	select {
	case err := <-began:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("begin: got %v, want its work context's deadline", err)
		}
	case <-time.After(20 * time.Second):
		sess.Close()
		t.Fatal("begin did not return within 20s of its 300ms work context")
	}
	if !m.crashed {
		t.Error("the incarnation did not crash when its begin gave up")
	}
	m.crash() // the run loop's crash after a failed batch
	closed := make(chan struct{})
	go func() { m.closing.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the crashed incarnation's client did not close within 20s")
	}
}
