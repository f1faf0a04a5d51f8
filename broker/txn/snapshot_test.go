package txn

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// TestSnapshotRoundTrip: a restored snapshot knows every producer as the
// state did (epoch, retained batches), reports the offset it covers, and
// encodes to the same bytes again.
func TestSnapshotRoundTrip(t *testing.T) {
	var p PartitionProducers
	history := append(slices.Clone(sixBatches),
		spec{pid: 7, epoch: 3, seq: 0, n: 1, ts: 50},
		spec{pid: 2, seq: 0, n: 4, ts: 60},
		spec{pid: -1, n: 2, ts: 70}, // not idempotent: not tracked
	)
	end := appendAll(t, &p, history)
	data := p.AppendSnapshot(nil, end)

	var q PartitionProducers
	upTo, err := q.RestoreSnapshot(data)
	if err != nil || upTo != end {
		t.Fatalf("restore: up to %d, %v; want %d", upTo, err, end)
	}
	if q.Len() != p.Len() {
		t.Fatalf("restored %d producers, want %d", q.Len(), p.Len())
	}
	for _, id := range []int64{1, 2, 7} {
		want, _ := p.Producer(id)
		got, ok := q.Producer(id)
		if !ok || got.Epoch != want.Epoch || !slices.Equal(got.Batches, want.Batches) {
			t.Errorf("producer %d: restored %+v, want %+v", id, got, want)
		}
	}
	if again := q.AppendSnapshot(nil, end); !bytes.Equal(again, data) {
		t.Error("a restored state encodes differently")
	}
	var empty PartitionProducers
	if upTo, err := empty.RestoreSnapshot(empty.AppendSnapshot(nil, 0)); err != nil || upTo != 0 || empty.Len() != 0 {
		t.Errorf("empty snapshot: %d, %v, %d producers", upTo, err, empty.Len())
	}
}

// TestSnapshotCorrupt: every single-bit flip, every truncation and a few
// well-formed lies are refused, and a refused restore leaves the state as
// it was.
func TestSnapshotCorrupt(t *testing.T) {
	var p PartitionProducers
	end := appendAll(t, &p, sixBatches)
	data := p.AppendSnapshot(nil, end)
	var q PartitionProducers
	appendAll(t, &q, []spec{{pid: 9, seq: 0, n: 1}})
	refuse := func(what string, b []byte) {
		t.Helper()
		if _, err := q.RestoreSnapshot(b); !errors.Is(err, ErrSnapshotCorrupt) {
			t.Fatalf("%s: err %v, want ErrSnapshotCorrupt", what, err)
		}
		if _, ok := q.Producer(9); !ok || q.Len() != 1 {
			t.Fatalf("%s: a refused restore changed the state", what)
		}
	}
	for i := range data {
		for bit := range 8 {
			b := slices.Clone(data)
			b[i] ^= 1 << bit
			refuse("bit flip", b)
		}
	}
	for n := range data {
		refuse("truncated", data[:n])
	}
	// Lies with a valid checksum: batches at or past the offset covered.
	refuse("batch past upTo", p.AppendSnapshot(nil, 3))
	refuse("negative upTo", p.AppendSnapshot(nil, -1))
}

// FuzzRestoreSnapshot: a snapshot is read from the disk, so any bytes may
// come back. RestoreSnapshot never panics, and what it accepts encodes back
// to the same bytes (there is one encoding of a state); a version 1
// snapshot encodes as version 2, which reads back to the same state.
func FuzzRestoreSnapshot(f *testing.F) {
	var p PartitionProducers
	f.Add(p.AppendSnapshot(nil, 0))
	appendAll(f, &p, sixBatches)
	f.Add(p.AppendSnapshot(nil, 12))
	f.Add([]byte("weirps01"))
	var l txnLog
	l.produce(f, txnBatch(f, 1, 0, 0, 2, true))
	l.produce(f, txnBatch(f, 2, 0, 0, 1, true))
	l.mark(f, Marker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 3}, false)
	l.produce(f, txnBatch(f, 1, 0, 2, 1, true))
	f.Add(l.state.AppendSnapshot(nil, l.end))
	f.Fuzz(func(t *testing.T, data []byte) {
		var q PartitionProducers
		upTo, err := q.RestoreSnapshot(data)
		if err != nil {
			return
		}
		again := q.AppendSnapshot(nil, upTo)
		if bytes.HasPrefix(data, []byte(snapshotMagicV1)) {
			var r PartitionProducers
			if _, err := r.RestoreSnapshot(again); err != nil || !bytes.Equal(r.AppendSnapshot(nil, upTo), again) {
				t.Fatalf("version 1 %x encodes as %x, which does not read back the same: %v", data, again, err)
			}
			return
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted %x, which encodes back as %x", data, again)
		}
	})
}
