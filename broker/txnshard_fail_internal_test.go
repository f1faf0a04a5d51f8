package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
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
// CompleteAbort in the apply that released the PrepareAbort (no markers
// to wait for). That apply once did it in a nested apply: when the append
// failed, the shard failed inside the nested apply and the outer one
// carried on with the failed shard's state machine (a nil dereference that
// took the whole broker down). Now it is a follow-up decision of the same
// apply loop; its failed append must end the loop with the shard (an
// apply that goes on after it, with the next decision or the timer,
// panics here).
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
	endTxn(t, b, id, init.ProducerID, init.ProducerEpoch, false)
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

// endTxn runs EndTxn v5 (transaction version 2) for id on b and returns
// the answer once it is in.
func endTxn(t *testing.T, b *Broker, id string, pid int64, epoch int16, commit bool) *kmsg.EndTxnResponse {
	t.Helper()
	end := kmsg.NewPtrEndTxnRequest()
	end.Version, end.TransactionalID = 5, id
	end.ProducerID, end.ProducerEpoch, end.Commit = pid, epoch, commit
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := handleEndTxn(ctx, b, &request{key: 26, version: 5, kreq: end, conn: &conn{readDone: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.finish != nil {
		rep.finish(ctx)
	}
	return rep.resp.(*kmsg.EndTxnResponse)
}

// A transaction version 2 abort of a transaction with no partition has no
// marker to wait for: the apply loop that releases its PrepareAbort (once
// durable, with fsync; at once without) completes it, CompleteAbort, as a
// follow-up decision. The producer's next abort at the bumped epoch is
// then taken, not refused as concurrent with the first.
func TestTxnEmptyAbortCompletesInTheApplyLoop(t *testing.T) {
	for _, fsync := range []bool{true, false} {
		t.Run(fmt.Sprintf("fsync=%v", fsync), func(t *testing.T) {
			b, _ := openMemBrokerWith(t, func(c *Config) { c.FsyncAcksAll = fsync })
			if code := b.txns.ensure(context.Background()); code != 0 {
				t.Fatalf("ensure: %d", code)
			}
			const id = "tx"
			cs := waitTxnServing(t, b, id)
			init := initTxnProducer(t, b, id)
			pid, epoch := init.ProducerID, init.ProducerEpoch
			for i := range 3 {
				resp := endTxn(t, b, id, pid, epoch, false)
				if resp.ErrorCode != 0 || resp.ProducerEpoch != epoch+1 {
					t.Fatalf("abort %d at epoch %d: %v, epoch %d", i, epoch, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerEpoch)
				}
				pid, epoch = resp.ProducerID, resp.ProducerEpoch
				waitTxnDump(t, cs, fmt.Sprintf("%s CompleteAbort producer=%d epoch=%d", id, pid, epoch))
			}
			cs.mu.Lock()
			state := cs.state
			cs.mu.Unlock()
			if state != shardServing {
				t.Fatalf("shard state %v, want serving", state)
			}
		})
	}
}

// waitTxnDump waits until the shard's Dump starts with want.
func waitTxnDump(t *testing.T, cs *txnShard, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs.mu.Lock()
		dump := ""
		if cs.sm != nil {
			dump = cs.sm.Dump()
		}
		cs.mu.Unlock()
		if strings.HasPrefix(dump, want+" ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transactions: %q, want %q", dump, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
