package gen_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/workloads/gen"
)

// kgo's KIP-320 position past an aborted transaction's batch (seed 21021).
// A record r0 is written in one leader epoch and read; in the next, a
// transaction writes x and is aborted while a second transaction's y,
// after x, is still open. A read_committed fetch then ends at the last
// stable offset, y's, and returns x's batch with its transaction among the
// aborted ones: kgo drops the batch and moves its position past it, but
// pairs it with r0's epoch (the Java consumer takes the batch's:
// CompletedFetch.nextFetchedRecord sets lastEpoch before it skips an
// aborted batch). After the next leader change kgo asks where r0's epoch
// ends, the leader answers x's offset (the first of the next epoch),
// below the position, and kgo reports a data loss of offsets at which it
// returned nothing, though the log lost nothing. gen.ReadCommitted keeps
// control records, which does not help here: the marker of x is above the
// last stable offset, and kgo drops aborted batches either way.
//
// This documents the client's behaviour that checker.dataLosses leaves
// alone on topics transactions write to; if kgo ever takes the epoch of
// aborted batches itself, the test fails and says so.
func TestKgoPositionPastAnAbortedBatchReportsAFalseLoss(t *testing.T) {
	w := startWorld(t, 21021, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const topic = "t"
	admin := kadm.NewClient(client(t, w, "admin"))
	if resp, err := admin.CreateTopic(ctx, 1, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	if err := client(t, w, "plain", kgo.DefaultProduceTopic(topic)).ProduceSync(ctx, &kgo.Record{Value: []byte("r0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumer := client(t, w, "consumer", append(gen.ReadCommitted(), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))...)
	var returned []string // what the consumer returned before the report
	collect := func(fs kgo.Fetches) {
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				returned = append(returned, fmt.Sprintf("%s@%d", r.Value, r.Offset))
			}
		})
	}
	for len(returned) == 0 {
		collect(consumer.PollFetches(ctx))
		if ctx.Err() != nil {
			t.Fatal("r0 was not read")
		}
	}
	reboot(ctx, t, w, admin, topic, -1)
	second := leaderEpoch(ctx, t, admin, topic) // x's epoch

	begin := func(name string, value string) (*kgo.Client, int64) {
		t.Helper()
		p := client(t, w, name, kgo.TransactionalID(name), kgo.DefaultProduceTopic(topic))
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		r, err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).First()
		if err != nil {
			t.Fatalf("produce %s: %v", value, err)
		}
		return p, r.Offset
	}
	a, x := begin("a", "x")
	b, y := begin("b", "y")
	if err := a.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort: %v", err)
	}
	// The consumer fetches x's batch (aborted: dropped) and stops at y,
	// whose transaction is open; it returns nothing.
	pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	collect(consumer.PollFetches(pctx))
	pcancel()

	reboot(ctx, t, w, admin, topic, second)
	if err := b.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
	loss := pollForLoss(ctx, t, consumer, "y", func(r *kgo.Record) bool { return string(r.Value) == "y" }, collect)
	if loss == nil {
		t.Fatal("kgo reported no data loss: does it now take the leader epoch of aborted batches? then checker.dataLosses may judge topics transactions write to as others again")
	}
	t.Logf("kgo reported: %v (x@%d aborted, y@%d)", loss, x, y)
	if loss.ResetTo != x || loss.ConsumedTo != y {
		t.Fatalf("a loss of %d..%d, want x@%d..y@%d", loss.ResetTo, loss.ConsumedTo, x, y)
	}
	if len(returned) != 1 || returned[0] != "r0@0" {
		t.Fatalf("the consumer returned %v before the report, want only r0@0", returned)
	}
	// Nothing was lost: x's epoch reaches past the position kgo had.
	ends, err := admin.OffsetForLeaderEpoch(ctx, kadm.OffsetForLeaderEpochRequest{topic: {0: second}})
	if err != nil {
		t.Fatal(err)
	}
	end := ends[topic][0]
	if end.Err != nil || end.EndOffset < loss.ConsumedTo {
		t.Fatalf("epoch %d ends at %d (err %v), below the position %d: a real loss", second, end.EndOffset, end.Err, loss.ConsumedTo)
	}
}
