package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/reconcile"
)

// TestShardsServeOnlyWhileLeading: sweep seed 68192. The reconciler
// resigns a partition (SetRole) before it unloads the coordinator shard
// of it (follow), and carries out every other step of the image in
// between: on a broker that resumed after an 11 s pause, opening the 50
// partitions of __transaction_state created meanwhile kept a group shard
// serving for 1.4 s while its partition was a follower that had truncated
// the shard's records and copied the new leader's; it answered a request
// (undurable-group-answer). A shard whose partition no longer leads in
// the shard's epoch must answer NOT_COORDINATOR, whatever the reconciler
// has got to, and give itself up.
func TestShardsServeOnlyWhileLeading(t *testing.T) {
	resign := func(p *partition.Partition) {
		// What the reconciler does to a replica it no longer leads,
		// before groups.follow and txns.follow run.
		p.SetRole(reconcile.Wait, partition.Role{})
		if p.Leading() {
			t.Fatal("the partition still leads after SetRole")
		}
	}

	t.Run("groups", func(t *testing.T) {
		b, _ := openMemBroker(t)
		if code := b.groups.ensure(context.Background()); code != 0 {
			t.Fatalf("ensure: %d", code)
		}
		waitCoordinating(t, b, "g")
		heartbeat := func() int16 { return heartbeatCode(t, b, "g") }
		if got := heartbeat(); got != kerr.UnknownMemberID.Code {
			t.Fatalf("serving: %v", kerr.ErrorForCode(got))
		}
		cs, _ := b.groups.route("g")
		resign(cs.p)
		if got := heartbeat(); got != kerr.NotCoordinator.Code {
			t.Fatalf("after the partition resigned: %v, want NOT_COORDINATOR", kerr.ErrorForCode(got))
		}
		if state := cs.stateOf(); state != shardUnloaded {
			t.Fatalf("shard state %v after its partition resigned, want unloaded", state)
		}
	})

	t.Run("transactions", func(t *testing.T) {
		b, _ := openMemBroker(t)
		if code := b.txns.ensure(context.Background()); code != 0 {
			t.Fatalf("ensure: %d", code)
		}
		const id = "tx"
		cs := waitTxnServing(t, b, id)
		initTxnProducer(t, b, id)
		resign(cs.p)
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version = 4
		req.TransactionalID, req.TransactionTimeoutMillis = kmsg.StringPtr(id), 10000
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rep, err := handleInitProducerID(ctx, b, &request{key: 22, version: 4, kreq: req, conn: &conn{readDone: make(chan struct{})}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.finish != nil {
			rep.finish(ctx)
		}
		if got := rep.resp.(*kmsg.InitProducerIDResponse).ErrorCode; got != kerr.NotCoordinator.Code {
			t.Fatalf("after the partition resigned: %v, want NOT_COORDINATOR", kerr.ErrorForCode(got))
		}
		if state := cs.stateOf(); state != shardUnloaded {
			// Before: the shard took the request and failed on its append
			// to a partition it no longer led (COORDINATOR_NOT_AVAILABLE
			// until a restart).
			t.Fatalf("shard state %v after its partition resigned, want unloaded", state)
		}
	})
}

// TestDurabilityWatchStopsWhenThePartitionResigned: the durability watch
// of a shard releases held answers against its partition's high
// watermark only while the partition leads in the shard's epoch; once it
// resigned, that watermark is a follower's, of other records (seed
// 68192), and the watch calls lost instead of durable.
func TestDurabilityWatchStopsWhenThePartitionResigned(t *testing.T) {
	b, _ := openMemBroker(t)
	if code := b.groups.ensure(context.Background()); code != 0 {
		t.Fatalf("ensure: %d", code)
	}
	waitCoordinating(t, b, "g")
	cs, _ := b.groups.route("g")
	p := cs.p
	watch := func() (durable, lost int) {
		// A core of its own, so that the shard's own watch cannot get
		// there first.
		c := &shardCore{p: p, epoch: cs.epoch, state: shardServing}
		done := make(chan struct{})
		close(done)
		c.watchDurable(p, done, func(int64) { durable++ }, func(err error) { t.Fatalf("fail: %v", err) }, func() { lost++ })
		return durable, lost
	}
	if durable, lost := watch(); durable != 1 || lost != 0 {
		t.Fatalf("leading: durable called %d times, lost %d; want 1 and 0", durable, lost)
	}
	p.SetRole(reconcile.Wait, partition.Role{})
	if durable, lost := watch(); durable != 0 || lost != 1 {
		t.Fatalf("resigned: durable called %d times, lost %d; want 0 and 1", durable, lost)
	}
}
