package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// openTxn starts a kfake cluster, begins a transaction on a transactional
// kgo client against it and produces one record, so that the client has a
// producer id and epoch and a transaction open at the coordinator.
func openTxn(t *testing.T) (*kfake.Cluster, *txnClient, int64, int16) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	id, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, &txnClient{id: "tx", cl: cl}, id, epoch
}

// refuseAddOffsets makes c answer the next n AddOffsetsToTxn requests
// (every one when n is negative) with CONCURRENT_TRANSACTIONS, and counts
// every AddOffsetsToTxn request it sees.
func refuseAddOffsets(c *kfake.Cluster, n int32, seen *atomic.Int32) {
	c.ControlKey(int16(kmsg.AddOffsetsToTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if k := seen.Add(1); n >= 0 && k > n {
			return nil, nil, false
		}
		resp := req.(*kmsg.AddOffsetsToTxnRequest).ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		resp.ErrorCode = kerr.ConcurrentTransactions.Code
		return resp, nil, true
	})
}

// TestAddOffsetsToTxnRetriesConcurrentTransactions: an AddOffsetsToTxn
// answered CONCURRENT_TRANSACTIONS (the coordinator still ending the
// producer's last transaction) is sent again until it is accepted, as kgo's
// and the Java producer's own AddOffsetsToTxn do, instead of ending the
// transaction unknown.
func TestAddOffsetsToTxnRetriesConcurrentTransactions(t *testing.T) {
	c, tc, id, epoch := openTxn(t)
	var seen atomic.Int32
	refuseAddOffsets(c, 2, &seen)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := addOffsetsToTxn(ctx, tc, id, epoch, "g"); err != nil {
		t.Fatalf("after two CONCURRENT_TRANSACTIONS: %v", err)
	}
	if seen.Load() != 3 {
		t.Errorf("%d AddOffsetsToTxn requests, want 3 (two refused, one accepted)", seen.Load())
	}
}

// TestAddOffsetsToTxnGivesUpWithItsContext: the retries stop when the
// transaction's context ends, with the coordinator's last answer.
func TestAddOffsetsToTxnGivesUpWithItsContext(t *testing.T) {
	c, tc, id, epoch := openTxn(t)
	var seen atomic.Int32
	refuseAddOffsets(c, -1, &seen)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := addOffsetsToTxn(ctx, tc, id, epoch, "g")
	if !errors.Is(err, kerr.ConcurrentTransactions) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want CONCURRENT_TRANSACTIONS or the context's deadline", err)
	}
	if seen.Load() < 2 {
		t.Errorf("%d AddOffsetsToTxn requests before giving up, want retries", seen.Load())
	}
}
