package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/env/memfs"
)

// failWritesAfter lets allow more writes to files whose path contains
// infix succeed, then fails every later one, like a disk that goes bad
// between two appends of one shard.
type failWritesAfter struct {
	mu     sync.Mutex
	infix  string
	allow  int
	failed int
}

func (f *failWritesAfter) MaybeError(op memfs.Op, path string) error {
	if (op != memfs.OpWrite && op != memfs.OpWriteAt) || !strings.Contains(path, f.infix) {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.allow > 0 {
		f.allow--
		return nil
	}
	f.failed++
	return errors.New("injected write error")
}

func (f *failWritesAfter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// TestTxnShardFailsInsideNestedApply: sweep seed 8085. A transaction
// version 2 abort of a transaction with no partition writes its
// CompleteAbort from inside the apply that released the PrepareAbort (no
// markers to wait for). When that append fails, the shard fails inside the
// nested apply; the outer apply must then stop, not carry on with the
// failed shard's state machine (it was a nil dereference that took the
// whole broker down).
func TestTxnShardFailsInsideNestedApply(t *testing.T) {
	b, fs := openMemBroker(t)
	if code := b.txns.ensure(context.Background()); code != 0 {
		t.Fatalf("ensure: %d", code)
	}
	const id = "tx"
	cs := waitTxnServing(t, b, id)
	init := initTxnProducer(t, b, id)

	// The PrepareAbort's append succeeds; the CompleteAbort's fails.
	disk := &failWritesAfter{infix: fmt.Sprintf("/%s-%d/", transactionStateTopic, cs.index), allow: 1}
	fs.SetInjector(disk)
	defer fs.SetInjector(nil)
	end := kmsg.NewPtrEndTxnRequest()
	end.Version, end.TransactionalID = 5, id
	end.ProducerID, end.ProducerEpoch, end.Commit = init.ProducerID, init.ProducerEpoch, false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := handleEndTxn(ctx, b, &request{key: 26, version: 5, kreq: end, conn: &conn{readDone: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.finish != nil {
		rep.finish(ctx)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs.mu.Lock()
		state := cs.state
		cs.mu.Unlock()
		if state == shardFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shard is in state %v after its CompleteAbort's append failed (%d writes failed), want failed", state, disk.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if disk.count() == 0 {
		t.Fatal("no write failed: the test proved nothing")
	}
}
