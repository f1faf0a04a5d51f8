package txn

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/internal/checksum"
)

// txnBatch is a batch of producer pid at epoch from sequence seq, n records,
// transactional or not.
func txnBatch(t fataler, pid int64, epoch int16, seq int32, n int, transactional bool) *record.Batch {
	t.Helper()
	values := make([][]byte, n)
	for i := range values {
		values[i] = []byte(fmt.Sprintf("v%d", i))
	}
	raw := recordtest.Batch(recordtest.Options{
		ProducerID: pid, Idempotent: true, ProducerEpoch: epoch, BaseSequence: seq,
		TimestampMs: 1000, Transactional: transactional,
	}, values...)
	b, err := record.Parse(raw)
	if err != nil {
		t.Fatalf("building a batch: %v", err)
	}
	return &b
}

func markerBatch(t fataler, m Marker) *record.Batch {
	t.Helper()
	b, err := record.Parse(MarkerBatch(m, 2000))
	if err != nil {
		t.Fatalf("building a marker: %v", err)
	}
	return &b
}

// txnLog is a partition log driven through the state the way the broker
// drives it.
type txnLog struct {
	state PartitionProducers
	log   []*record.Batch
	end   int64
}

func (l *txnLog) add(t fataler, b *record.Batch) {
	t.Helper()
	record.SetBaseOffset(b.Raw, l.end)
	b.FirstOffset = l.end
	l.state.Update(b, l.end)
	l.log = append(l.log, b)
	l.end += int64(b.LastOffsetDelta) + 1
}

func (l *txnLog) produce(t fataler, b *record.Batch) Decision {
	t.Helper()
	d := l.state.Check(b)
	if d.Action == Append {
		l.add(t, b)
	}
	return d
}

func (l *txnLog) mark(t fataler, m Marker, tv2 bool) Decision {
	t.Helper()
	d := l.state.CheckMarker(m, tv2)
	if d.Action == Append {
		l.add(t, markerBatch(t, m))
	}
	return d
}

func TestMarkerRoundTrip(t *testing.T) {
	for _, m := range []Marker{
		{ProducerID: 7, ProducerEpoch: 3, Commit: true, CoordinatorEpoch: 5},
		{ProducerID: 1 << 40, ProducerEpoch: 0, Commit: false, CoordinatorEpoch: 0},
	} {
		b := markerBatch(t, m)
		if !b.IsControl() || !b.IsTransactional() || b.FirstSequence != -1 {
			t.Errorf("%+v: attributes %x sequence %d", m, b.Attributes, b.FirstSequence)
		}
		got, err := ParseMarker(b)
		if err != nil || got != m {
			t.Errorf("parsed %+v, %v; want %+v", got, err, m)
		}
	}
	if _, err := ParseMarker(txnBatch(t, 1, 0, 0, 1, true)); err == nil {
		t.Error("a data batch parsed as a marker")
	}
}

// TestTransactionLifecycle walks one producer through a committed and an
// aborted transaction between another producer's open one, checking the
// LSO and the aborted transactions a read_committed fetch gets.
func TestTransactionLifecycle(t *testing.T) {
	var l txnLog
	// Producer 1 opens a transaction at 0 (offsets 0-1), producer 2 at 2.
	l.produce(t, txnBatch(t, 1, 0, 0, 2, true))
	l.produce(t, txnBatch(t, 2, 0, 0, 1, true))
	if got := l.state.LastStableOffset(3); got != 0 {
		t.Fatalf("LSO with two open transactions = %d, want 0", got)
	}
	// A non-transactional batch from a producer with an open transaction.
	if d := l.produce(t, txnBatch(t, 1, 0, 2, 1, false)); d.Action != Reject || d.Err != kerr.InvalidTxnState {
		t.Fatalf("plain batch inside a transaction: %+v", d)
	}
	l.produce(t, txnBatch(t, 1, 0, 2, 1, true)) // offset 3
	// Producer 1 aborts at 4.
	if d := l.mark(t, Marker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 1}, false); d.Action != Append {
		t.Fatalf("abort marker: %+v", d)
	}
	// The marker is not below the high watermark: producer 1's records
	// stay unstable even though producer 2 is the oldest open one... and
	// producer 2 at 2 is above producer 1's first offset 0.
	if got := l.state.LastStableOffset(4); got != 0 {
		t.Fatalf("LSO before the marker is stable = %d, want 0", got)
	}
	if got := l.state.LastStableOffset(5); got != 2 {
		t.Fatalf("LSO once the abort is stable = %d, want 2 (producer 2 is open)", got)
	}
	want := []AbortedTxn{{ProducerID: 1, FirstOffset: 0, LastOffset: 4, LastStable: 2}}
	if got := l.state.AbortedIn(0, 5); !slices.Equal(got, want) {
		t.Fatalf("aborted = %+v, want %+v", got, want)
	}
	if got := l.state.AbortedIn(5, 10); len(got) != 0 {
		t.Fatalf("aborted after the marker = %+v", got)
	}
	// Producer 2 commits at 5; everything is stable once hw passes it.
	l.mark(t, Marker{ProducerID: 2, ProducerEpoch: 0, Commit: true, CoordinatorEpoch: 1}, false)
	if got := l.state.LastStableOffset(6); got != 6 {
		t.Fatalf("LSO after both ended = %d, want 6", got)
	}
	l.state.ForgetStable(6)
	if l.state.Unstable() {
		t.Fatal("stable transactions are still tracked")
	}
	// A stale marker (older epoch) and a fenced coordinator.
	l.produce(t, txnBatch(t, 1, 1, 0, 1, true))
	if d := l.state.CheckMarker(Marker{ProducerID: 1, ProducerEpoch: 0}, false); d.Err != kerr.InvalidProducerEpoch {
		t.Fatalf("old-epoch marker: %+v", d)
	}
	if d := l.state.CheckMarker(Marker{ProducerID: 1, ProducerEpoch: 1, CoordinatorEpoch: 0}, false); d.Err != kerr.TransactionCoordinatorFenced {
		t.Fatalf("old coordinator: %+v", d)
	}
	// Transaction version 2: the marker must carry a newer epoch while a
	// transaction is open; the same epoch once it ended is a retry.
	if d := l.state.CheckMarker(Marker{ProducerID: 1, ProducerEpoch: 1, CoordinatorEpoch: 1}, true); d.Err != kerr.InvalidProducerEpoch {
		t.Fatalf("TV2 marker at the open transaction's epoch: %+v", d)
	}
	l.mark(t, Marker{ProducerID: 1, ProducerEpoch: 2, Commit: true, CoordinatorEpoch: 1}, true)
	if d := l.state.CheckMarker(Marker{ProducerID: 1, ProducerEpoch: 2, Commit: true, CoordinatorEpoch: 1}, true); d.Action != Append {
		t.Fatalf("TV2 marker retry: %+v", d)
	}
	// A late batch of the ended transaction, at its old epoch, is fenced.
	if d := l.produce(t, txnBatch(t, 1, 1, 1, 1, true)); d.Err != kerr.InvalidProducerEpoch {
		t.Fatalf("late batch after a TV2 marker: %+v", d)
	}
}

// TestVerification: with verification required, a transactional batch
// that would open a transaction waits for a confirmed verification, and a
// marker arriving between the question and the append voids it.
func TestVerification(t *testing.T) {
	var l txnLog
	l.state.SetRequireVerification(true)
	b := txnBatch(t, 1, 0, 0, 1, true)
	if d := l.state.Check(b); d.Err != kerr.InvalidTxnState || !d.NeedsVerification {
		t.Fatalf("unverified: %+v", d)
	}
	token := l.state.StartVerification(1, 0, false)
	if d := l.state.Check(b); !d.NeedsVerification {
		t.Fatalf("asked but not confirmed: %+v", d)
	}
	if !l.state.Verified(1, token) {
		t.Fatal("verification voided")
	}
	if d := l.produce(t, b); d.Action != Append {
		t.Fatalf("verified: %+v", d)
	}
	// The transaction is open: the next batch needs nothing.
	if d := l.produce(t, txnBatch(t, 1, 0, 1, 1, true)); d.Action != Append {
		t.Fatalf("second batch: %+v", d)
	}
	l.mark(t, Marker{ProducerID: 1, ProducerEpoch: 0, Commit: true}, false)
	// A late batch of the ended transaction needs a verification again;
	// one asked before a marker of its transaction lands is void.
	late := txnBatch(t, 1, 0, 2, 1, true)
	token = l.state.StartVerification(1, 0, false)
	m := Marker{ProducerID: 1, ProducerEpoch: 0, Commit: false}
	l.state.VoidVerification(m, false)
	l.mark(t, m, false)
	if l.state.Verified(1, token) {
		t.Fatal("a verification survived a marker")
	}
	// Under transaction version 2, the previous transaction's marker
	// carries the epoch the next transaction's verification is about: it
	// does not void it; the next transaction's own marker (one more) does.
	token = l.state.StartVerification(1, 1, false)
	l.state.VoidVerification(Marker{ProducerID: 1, ProducerEpoch: 1}, true)
	if !l.state.Verified(1, token) {
		t.Fatal("the previous transaction's TV2 marker voided the next one's verification")
	}
	token = l.state.StartVerification(1, 1, false)
	l.state.VoidVerification(Marker{ProducerID: 1, ProducerEpoch: 2}, true)
	if l.state.Verified(1, token) {
		t.Fatal("a TV2 marker ending the verified transaction did not void it")
	}
	if d := l.state.Check(late); !d.NeedsVerification {
		t.Fatalf("late batch after a marker: %+v", d)
	}
	// Replay does not check verification: the log is the truth.
	var replayed PartitionProducers
	replayed.SetRequireVerification(true)
	for _, b := range l.log {
		replayed.Replay(b)
	}
	if !bytes.Equal(replayed.AppendSnapshot(nil, l.end), l.state.AppendSnapshot(nil, l.end)) {
		t.Fatal("replay differs from the live state")
	}
}

func TestSnapshotV1StillRead(t *testing.T) {
	var p PartitionProducers
	end := appendAll(t, &p, sixBatches)
	v2 := p.AppendSnapshot(nil, end)
	// Version 1 is version 2 without the per-producer transaction fields
	// and the aborted list; build it by hand for one producer.
	v1 := append([]byte(snapshotMagicV1), v2[len(snapshotMagic):len(v2)-4-snapshotTxnSize-4]...)
	v1 = checksum.Append(v1, 0)
	var q PartitionProducers
	if upTo, err := q.RestoreSnapshot(v1); err != nil || upTo != end {
		t.Fatalf("v1 restore: %d, %v", upTo, err)
	}
	got, _ := q.Producer(1)
	want, _ := p.Producer(1)
	if !slices.Equal(got.Batches, want.Batches) || got.TxnFirstOffset != -1 || got.CoordinatorEpoch != -1 {
		t.Fatalf("v1 producer %+v, want %+v", got, want)
	}
}

// txnModel is what the test knows of one producer.
type txnModel struct {
	id      int64
	epoch   int16
	seq     int32
	tv2     bool
	inTxn   bool
	first   int64
	started bool
}

// modelTxn is a transaction the model saw: open while end < 0.
type modelTxn struct {
	pid        int64
	first, end int64
	aborted    bool
}

// TestPropertyTransactions drives transactional producers (TV1 and TV2),
// markers, stale markers, plain batches, high watermark moves and restarts,
// and checks against a model: every decision, the LSO at the high
// watermark, the aborted transactions any fetch range gets, and that a
// restart (snapshot at a random point plus replay) rebuilds the same state.
func TestPropertyTransactions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var l txnLog
		producers := []*txnModel{{id: 1}, {id: 2}, {id: 3, tv2: true}}
		var txns []*modelTxn
		open := map[int64]*modelTxn{}
		hw := int64(0)
		coordEpoch := int32(0)
		pick := func(t *rapid.T) *txnModel { return rapid.SampledFrom(producers).Draw(t, "producer") }

		t.Repeat(map[string]func(*rapid.T){
			"produce": func(t *rapid.T) {
				p := pick(t)
				transactional := rapid.IntRange(0, 3).Draw(t, "kind") > 0
				n := rapid.IntRange(1, 3).Draw(t, "n")
				base := l.end
				d := l.produce(t, txnBatch(t, p.id, p.epoch, p.seq, n, transactional))
				if p.inTxn && !transactional {
					if d.Err != kerr.InvalidTxnState {
						t.Fatalf("plain batch in a transaction: %+v", d)
					}
					return
				}
				if d.Action != Append {
					t.Fatalf("batch of %+v: %+v", p, d)
				}
				p.started = true
				p.seq += int32(n)
				if transactional && !p.inTxn {
					p.inTxn, p.first = true, base
					mt := &modelTxn{pid: p.id, first: base, end: -1}
					txns = append(txns, mt)
					open[p.id] = mt
				}
			},
			"end": func(t *rapid.T) {
				p := pick(t)
				commit := rapid.Bool().Draw(t, "commit")
				if rapid.IntRange(0, 5).Draw(t, "newCoordinator") == 0 {
					coordEpoch++
				}
				epoch := p.epoch
				if p.tv2 {
					epoch++
				}
				at := l.end
				if d := l.mark(t, Marker{ProducerID: p.id, ProducerEpoch: epoch, Commit: commit, CoordinatorEpoch: coordEpoch}, p.tv2); d.Action != Append {
					t.Fatalf("marker for %+v: %+v", p, d)
				}
				if p.tv2 {
					p.epoch, p.seq = epoch, 0
				}
				if mt := open[p.id]; mt != nil {
					mt.end, mt.aborted = at, !commit
					delete(open, p.id)
				}
				p.inTxn = false
			},
			"staleMarker": func(t *rapid.T) {
				p := pick(t)
				if !p.started || p.epoch == 0 {
					t.Skip("no older epoch")
				}
				d := l.state.CheckMarker(Marker{ProducerID: p.id, ProducerEpoch: p.epoch - 1, CoordinatorEpoch: coordEpoch}, p.tv2)
				if d.Err != kerr.InvalidProducerEpoch {
					t.Fatalf("stale marker: %+v", d)
				}
			},
			"hw": func(t *rapid.T) {
				hw = rapid.Int64Range(hw, l.end).Draw(t, "hw")
				if rapid.Bool().Draw(t, "forget") {
					l.state.ForgetStable(hw)
				}
			},
			"restart": func(t *rapid.T) {
				at := rapid.IntRange(0, len(l.log)).Draw(t, "snapshotAt")
				var prefix PartitionProducers
				upTo := int64(0)
				for _, b := range l.log[:at] {
					prefix.Replay(b)
					upTo = b.LastOffset() + 1
				}
				var q PartitionProducers
				if _, err := q.RestoreSnapshot(prefix.AppendSnapshot(nil, upTo)); err != nil {
					t.Fatalf("restore: %v", err)
				}
				for _, b := range l.log[at:] {
					q.Replay(b)
				}
				if !bytes.Equal(q.AppendSnapshot(nil, l.end), l.state.AppendSnapshot(nil, l.end)) {
					t.Fatalf("rebuilt state differs from the live state")
				}
				// After a restart the high watermark restarts from the
				// log end (one replica), so every ended transaction is
				// stable: the LSO agrees at the log end.
				if got, want := q.LastStableOffset(l.end), l.state.LastStableOffset(l.end); got != want {
					t.Fatalf("rebuilt LSO %d, live %d", got, want)
				}
			},
		})

		// The LSO: the high watermark, or the first offset of the oldest
		// transaction open or ended at or above it.
		want := hw
		for _, mt := range txns {
			if mt.end < 0 || mt.end >= hw {
				want = min(want, mt.first)
			}
		}
		if got := l.state.LastStableOffset(hw); got != want {
			t.Fatalf("LSO at hw %d = %d, want %d", hw, got, want)
		}
		// Aborted transactions of every fetch range: exactly those with
		// the marker at or after from and the first offset below upTo.
		for from := int64(0); from <= l.end; from++ {
			for upTo := from; upTo <= l.end+1; upTo++ {
				var want []int64
				for _, mt := range txns {
					if mt.aborted && mt.end >= from && mt.first < upTo {
						want = append(want, mt.end)
					}
				}
				slices.Sort(want) // AbortedIn answers in marker order
				var got []int64
				for _, a := range l.state.AbortedIn(from, upTo) {
					got = append(got, a.LastOffset)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("aborted in [%d, %d) = %v, want markers %v", from, upTo, got, want)
				}
			}
		}
	})
}

// FuzzParseMarker: ParseMarker reads control records from the log (a
// follower's copy of a leader's, once replication runs), so any records
// section may come: it never panics, and a marker it accepts is one
// MarkerBatch writes the same way.
func FuzzParseMarker(f *testing.F) {
	f.Add(markerBatch(f, Marker{ProducerID: 7, ProducerEpoch: 3, Commit: true, CoordinatorEpoch: 5}).Records)
	f.Add(markerBatch(f, Marker{ProducerID: 1}).Records)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, records []byte) {
		b := record.Batch{}
		b.ProducerID, b.ProducerEpoch, b.NumRecords = 9, 2, 1
		b.Attributes = record.TransactionalBit | record.ControlBit
		b.Records = records
		m, err := ParseMarker(&b)
		if err != nil {
			return
		}
		if m.ProducerID != 9 || m.ProducerEpoch != 2 {
			t.Fatalf("marker %+v does not carry the batch's producer", m)
		}
		again := markerBatch(t, m)
		if back, err := ParseMarker(again); err != nil || back != m {
			t.Fatalf("marker %+v written and read back as %+v, %v", m, back, err)
		}
	})
}

// TestVersion2BatchWaitsForVersion1Marker: franz-go switches a
// transactional producer to transaction version 2 between two
// transactions once it learns the cluster's transaction.version. A
// version 1 end keeps the epoch, so the next transaction runs at the
// epoch of the one before. Its first batch must not join that
// transaction where the marker has not landed yet (simulator seeds
// 60005 and 61188: the old transaction's marker then decided the new
// records, a torn transaction); it waits for a verification, which the
// old marker voids, and opens a transaction of its own after it.
func TestVersion2BatchWaitsForVersion1Marker(t *testing.T) {
	var l txnLog
	l.state.SetRequireVerification(true)
	// Version 1: a verified transaction at epoch 3.
	token := l.state.StartVerification(1, 3, false)
	if !l.state.Verified(1, token) {
		t.Fatal("verification voided")
	}
	if d := l.produce(t, txnBatch(t, 1, 3, 0, 1, true)); d.Action != Append {
		t.Fatalf("version 1 batch: %+v", d)
	}
	// Its end (version 1: no new epoch) is on its way; the producer's
	// version 2 transaction at epoch 3 sends its first batch here.
	next := txnBatch(t, 1, 3, 1, 1, true)
	if d := l.state.CheckTV2(next); !d.NeedsVerification {
		t.Fatalf("a version 2 batch joined a version 1 transaction: %+v", d)
	}
	if !l.state.NeedsVerification(1, 3, true) {
		t.Fatal("version 2 offsets would join a version 1 transaction unverified")
	}
	// A version 1 batch of the same transaction still joins it.
	if d := l.state.Check(next); d.Action != Append {
		t.Fatalf("version 1 batch of the open transaction: %+v", d)
	}
	token = l.state.StartVerification(1, 3, true)
	m := Marker{ProducerID: 1, ProducerEpoch: 3, Commit: false}
	l.state.VoidVerification(m, false)
	if d := l.mark(t, m, false); d.Action != Append {
		t.Fatalf("version 1 marker: %+v", d)
	}
	if l.state.Verified(1, token) {
		t.Fatal("the old transaction's marker did not void the verification asked before it")
	}
	// Asked again, confirmed: the batch opens a transaction of its own.
	if d := l.state.CheckTV2(next); !d.NeedsVerification {
		t.Fatalf("after the marker, unverified: %+v", d)
	}
	token = l.state.StartVerification(1, 3, true)
	if !l.state.Verified(1, token) {
		t.Fatal("verification voided")
	}
	if d := l.state.CheckTV2(next); d.Action != Append {
		t.Fatalf("verified version 2 batch: %+v", d)
	}
	l.add(t, next)
	if got := l.state.LastStableOffset(l.end); got != 2 {
		t.Fatalf("LSO %d, want 2: the new transaction opens after the marker", got)
	}
	// Further version 2 batches of it need nothing more.
	if d := l.state.CheckTV2(txnBatch(t, 1, 3, 2, 1, true)); d.Action != Append {
		t.Fatalf("second version 2 batch: %+v", d)
	}
	if l.state.NeedsVerification(1, 3, true) {
		t.Fatal("version 2 offsets of a version 2 transaction asked again")
	}
}
