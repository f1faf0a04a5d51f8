package partition

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/txn"
	"github.com/weir-dev/weir/env/memfs"
)

// The partition's API without a broker: acks=all, min.insync.replicas,
// transactions and the last stable offset, DeleteRecords, a storage
// failure.

// An acks=all produce is answered once the ISR has the batch (a follower's
// fetch past it), NOT_LEADER_OR_FOLLOWER when the leader resigns first,
// and REQUEST_TIMED_OUT when the request's time runs out first.
func TestAcksAllWaitForTheISR(t *testing.T) {
	p := openTest(t, memfs.New(), testClock(), testConfig(0), Deps{})
	p.lead(assignment(0, testNode, 2))
	res := p.appendValues(0, 0, "a")
	w, code := p.AwaitAck(res.LeaderEpoch, res.EndOffset)
	if w == nil {
		t.Fatalf("answered %v before the follower had the batch", kerr.ErrorForCode(code))
	}
	if _, done := w.Done(); done {
		t.Fatal("done before the follower had the batch")
	}
	if got := followerFetch(p, 2, 0, 0, res.EndOffset); got.ErrorCode != 0 {
		t.Fatalf("follower fetch: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	if code := p.AckResult(nil, w); code != 0 {
		t.Fatalf("once the follower fetched past the batch: %v", kerr.ErrorForCode(code))
	}

	res = p.appendValues(0, 0, "b")
	w, _ = p.AwaitAck(res.LeaderEpoch, res.EndOffset)
	expired := make(chan struct{})
	close(expired)
	if code := p.AckResult(expired, w); code != kerr.RequestTimedOut.Code {
		t.Fatalf("timed out: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}

	res = p.appendValues(0, 0, "c")
	w, _ = p.AwaitAck(res.LeaderEpoch, res.EndOffset)
	p.SetRole(reconcile.Wait, Role{})
	if code := p.AckResult(nil, w); code != kerr.NotLeaderForPartition.Code {
		t.Fatalf("after resigning: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(code))
	}
	if _, code := p.AwaitAck(res.LeaderEpoch, res.EndOffset); code != kerr.NotLeaderForPartition.Code {
		t.Fatalf("a wait registered after resigning: %v", kerr.ErrorForCode(code))
	}
}

// An acks=all produce to a leader whose ISR is below min.insync.replicas is
// refused before the append; acks=1 is not.
func TestCheckProduceBelowMinInsync(t *testing.T) {
	p := openTest(t, memfs.New(), testClock(), testConfig(0), Deps{})
	a := assignment(0, testNode, 2)
	a.ISR = []int32{testNode}
	p.SetRole(reconcile.Lead, Role{Active: true, Assignment: a, MinInsync: 2})
	if kerrp, msg := p.CheckProduce(-1); kerrp != kerr.NotEnoughReplicas || msg == "" {
		t.Fatalf("acks=all: %v %q, want NOT_ENOUGH_REPLICAS with a reason", kerrp, msg)
	}
	if kerrp, _ := p.CheckProduce(1); kerrp != nil {
		t.Fatalf("acks=1: %v", kerrp)
	}
}

// A transaction holds the last stable offset at its first offset until
// its commit marker is below the high watermark; read_committed reads stop
// there, and an abort lists the transaction for read_committed fetches.
func TestTransactionsAndTheLastStableOffset(t *testing.T) {
	p := openTest(t, memfs.New(), testClock(), testConfig(0), Deps{})
	p.lead(assignment(0, testNode))
	plain := p.appendValues(0, 0, "before")
	txnBatch := func(pid int64, values ...string) AppendResult {
		t.Helper()
		raw := make([][]byte, len(values))
		for i, v := range values {
			raw[i] = []byte(v)
		}
		b, err := record.Parse(recordtest.Batch(recordtest.Options{Idempotent: true, Transactional: true, ProducerID: pid}, raw...))
		if err != nil {
			t.Fatal(err)
		}
		res := p.Append(&b, false, true)
		if res.Err != nil {
			t.Fatalf("transactional append: %v (%s)", res.Err, res.Reason)
		}
		return res
	}
	open := txnBatch(7, "t1", "t2")
	p.waitHW(open.EndOffset)
	if lso := p.LastStableOffset(); lso != open.BaseOffset {
		t.Fatalf("LSO %d with a transaction open at %d", lso, open.BaseOffset)
	}
	sp := kmsg.NewFetchResponseTopicPartition()
	p.ReadForConsumer(0, 1<<20, true, &sp)
	if sp.LastStableOffset != open.BaseOffset || sp.HighWatermark != open.EndOffset {
		t.Fatalf("read_committed fetch: LSO %d, HW %d; want %d, %d", sp.LastStableOffset, sp.HighWatermark, open.BaseOffset, open.EndOffset)
	}
	if end := batchesEnd(sp.RecordBatches); end != plain.EndOffset {
		t.Fatalf("read_committed read up to %d, want %d (the LSO)", end, plain.EndOffset)
	}
	if d := p.CheckMarker(txn.Marker{ProducerID: 7, Commit: true}, false); d.Action != txn.Append {
		t.Fatalf("commit marker checked: %+v", d)
	}
	marker := p.AppendMarker(txn.Marker{ProducerID: 7, Commit: true}, false)
	if marker.Err != nil {
		t.Fatal(marker.Err)
	}
	p.waitHW(marker.EndOffset)
	if lso := p.LastStableOffset(); lso != marker.EndOffset {
		t.Fatalf("LSO %d once the commit marker is below the HW %d", lso, marker.EndOffset)
	}

	aborted := txnBatch(8, "x")
	abort := p.AppendMarker(txn.Marker{ProducerID: 8}, false)
	p.waitHW(abort.EndOffset)
	sp = kmsg.NewFetchResponseTopicPartition()
	p.ReadForConsumer(aborted.BaseOffset, 1<<20, true, &sp)
	if len(sp.AbortedTransactions) != 1 || sp.AbortedTransactions[0].ProducerID != 8 || sp.AbortedTransactions[0].FirstOffset != aborted.BaseOffset {
		t.Fatalf("aborted transactions %+v, want producer 8's at %d", sp.AbortedTransactions, aborted.BaseOffset)
	}
}

// DeleteRecords moves the log start, never past the high watermark.
func TestDeleteRecords(t *testing.T) {
	p := openTest(t, memfs.New(), testClock(), testConfig(0), Deps{})
	p.lead(assignment(0, testNode))
	for _, v := range []string{"a", "b", "c"} {
		p.waitHW(p.appendValues(0, 0, v).EndOffset)
	}
	if _, kerrp := p.DeleteRecords(4); kerrp != kerr.OffsetOutOfRange {
		t.Fatalf("past the high watermark: %v", kerrp)
	}
	if start, kerrp := p.DeleteRecords(1); kerrp != nil || start != 1 || p.StartOffset() != 1 {
		t.Fatalf("to 1: start %d (%d), %v", start, p.StartOffset(), kerrp)
	}
	if start, kerrp := p.DeleteRecords(-1); kerrp != nil || start != 3 {
		t.Fatalf("to the high watermark: start %d, %v", start, kerrp)
	}
	if off, _ := p.ListOffset(ListEarliest, false); off != 3 {
		t.Fatalf("earliest %d after DeleteRecords(-1)", off)
	}
}

// A partition whose storage failed takes no append, wakes its waiters and
// leads nothing at the next image.
func TestStorageFailure(t *testing.T) {
	p := openTest(t, memfs.New(), testClock(), testConfig(0), Deps{})
	p.lead(assignment(0, testNode, 2))
	res := p.appendValues(0, 0, "a")
	failure := errors.New("disk gone")
	p.Fail(failure)
	if !errors.Is(p.Err(), failure) {
		t.Fatalf("Err %v", p.Err())
	}
	select {
	case <-p.Failed():
	default:
		t.Fatal("Failed not closed")
	}
	if err := p.WaitHW(context.Background(), res.EndOffset); err != kerr.KafkaStorageError {
		t.Fatalf("a wait for the high watermark: %v", err)
	}
	b, err := record.Parse(recordtest.Batch(recordtest.Options{}, []byte("b")))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Append(&b, false, true); got.Err != kerr.KafkaStorageError {
		t.Fatalf("append after the failure: %v", got.Err)
	}
	p.lead(assignment(1, testNode, 2))
	if p.Leading() {
		t.Fatal("a failed partition leads")
	}
}
