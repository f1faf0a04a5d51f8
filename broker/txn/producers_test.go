package txn

import (
	"fmt"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
)

// spec describes a batch: producer id (-1: none), epoch, first sequence,
// record count and first timestamp.
type spec struct {
	pid   int64
	epoch int16
	seq   int32
	n     int
	ts    int64
}

type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// build returns the parsed batch a producer would send for s.
func build(t fataler, s spec) *record.Batch {
	t.Helper()
	values := make([][]byte, s.n)
	for i := range values {
		values[i] = []byte(fmt.Sprintf("v%d", i))
	}
	raw := recordtest.Batch(recordtest.Options{
		ProducerID:    s.pid,
		Idempotent:    s.pid >= 0,
		ProducerEpoch: s.epoch,
		BaseSequence:  s.seq,
		TimestampMs:   s.ts,
	}, values...)
	b, err := record.Parse(raw)
	if err != nil {
		t.Fatalf("building %+v: %v", s, err)
	}
	return &b
}

// appendAll feeds history to p as a broker would, at offsets from 0, and
// fails if any of it is not appended. It returns the log end offset.
func appendAll(t fataler, p *PartitionProducers, history []spec) int64 {
	t.Helper()
	var end int64
	for i, s := range history {
		b := build(t, s)
		if d := p.Check(b); d.Action != Append {
			t.Fatalf("history[%d] %+v: got %+v, want append", i, s, d)
		}
		p.Update(b, end)
		end += int64(s.n)
	}
	return end
}

// six batches of producer 1, epoch 0, two records each: sequences 0..11 at
// offsets 0..11, so sequence s is at offset s.
var sixBatches = []spec{
	{pid: 1, seq: 0, n: 2, ts: 100},
	{pid: 1, seq: 2, n: 2, ts: 200},
	{pid: 1, seq: 4, n: 2, ts: 300},
	{pid: 1, seq: 6, n: 2, ts: 400},
	{pid: 1, seq: 8, n: 2, ts: 500},
	{pid: 1, seq: 10, n: 2, ts: 600},
}

func TestCheck(t *testing.T) {
	type want struct {
		action Action
		err    *kerr.Error
		base   int64 // Duplicate: the original base offset
	}
	appendOK := want{action: Append}
	outOfOrder := want{action: Reject, err: kerr.OutOfOrderSequenceNumber}
	fenced := want{action: Reject, err: kerr.InvalidProducerEpoch}

	cases := []struct {
		name    string
		history []spec
		probe   spec
		want    want
	}{
		{"first batch of a producer", nil, spec{pid: 1, seq: 0, n: 3}, appendOK},
		{"unknown producer at any sequence", nil, spec{pid: 1, seq: 42, n: 3}, appendOK},
		{"unknown producer at any epoch", sixBatches, spec{pid: 2, epoch: 9, seq: 1000, n: 1}, appendOK},
		{"in order", sixBatches, spec{pid: 1, seq: 12, n: 1}, appendOK},
		{"in order after one batch", sixBatches[:1], spec{pid: 1, seq: 2, n: 5}, appendOK},

		{"duplicate of the 5th newest", sixBatches, sixBatches[1], want{action: Duplicate, base: 2}},
		{"duplicate of the 4th newest", sixBatches, sixBatches[2], want{action: Duplicate, base: 4}},
		{"duplicate of the 3rd newest", sixBatches, sixBatches[3], want{action: Duplicate, base: 6}},
		{"duplicate of the 2nd newest", sixBatches, sixBatches[4], want{action: Duplicate, base: 8}},
		{"duplicate of the newest", sixBatches, sixBatches[5], want{action: Duplicate, base: 10}},
		{"duplicate with another timestamp is still a duplicate", sixBatches, spec{pid: 1, seq: 10, n: 2, ts: 9999}, want{action: Duplicate, base: 10}},
		{"duplicate older than 5", sixBatches, sixBatches[0], outOfOrder},

		{"gap", sixBatches, spec{pid: 1, seq: 13, n: 1}, outOfOrder},
		{"same first sequence, other last sequence", sixBatches, spec{pid: 1, seq: 10, n: 1}, outOfOrder},
		{"starts inside the last batch", sixBatches, spec{pid: 1, seq: 11, n: 2}, outOfOrder},
		{"sequence 0 again in the same epoch", sixBatches, spec{pid: 1, seq: 0, n: 1}, outOfOrder},

		{"lower epoch is fenced", []spec{{pid: 1, epoch: 3, seq: 0, n: 2}}, spec{pid: 1, epoch: 2, seq: 2, n: 1}, fenced},
		{"lower epoch at sequence 0 is fenced", []spec{{pid: 1, epoch: 3, seq: 0, n: 2}}, spec{pid: 1, epoch: 2, seq: 0, n: 1}, fenced},
		{
			"retry from before an epoch bump is fenced, not a duplicate",
			[]spec{{pid: 1, seq: 0, n: 2}, {pid: 1, epoch: 1, seq: 0, n: 1}},
			spec{pid: 1, seq: 0, n: 2}, fenced,
		},
		{"new epoch at 0", sixBatches, spec{pid: 1, epoch: 1, seq: 0, n: 1}, appendOK},
		{"epoch may jump by more than 1", sixBatches, spec{pid: 1, epoch: 7, seq: 0, n: 1}, appendOK},
		{"new epoch not at 0", sixBatches, spec{pid: 1, epoch: 1, seq: 12, n: 1}, outOfOrder},
		{
			"duplicate within the new epoch",
			[]spec{{pid: 1, seq: 0, n: 2}, {pid: 1, epoch: 1, seq: 0, n: 3}},
			spec{pid: 1, epoch: 1, seq: 0, n: 3}, want{action: Duplicate, base: 2},
		},
		{
			"new epoch forgets the old epoch's sequences",
			[]spec{{pid: 1, seq: 0, n: 2}, {pid: 1, epoch: 1, seq: 0, n: 3}},
			spec{pid: 1, epoch: 1, seq: 2, n: 1}, outOfOrder,
		},

		{"wrap: MaxInt32 is followed by 0", []spec{{pid: 1, seq: math.MaxInt32 - 2, n: 3}}, spec{pid: 1, seq: 0, n: 1}, appendOK},
		{"wrap: nothing else follows MaxInt32", []spec{{pid: 1, seq: math.MaxInt32 - 2, n: 3}}, spec{pid: 1, seq: 1, n: 1}, outOfOrder},
		{"wrap inside a batch", []spec{{pid: 1, seq: math.MaxInt32 - 1, n: 3}}, spec{pid: 1, seq: 1, n: 1}, appendOK},
		{
			"duplicate of a batch that wraps",
			[]spec{{pid: 1, seq: math.MaxInt32 - 3, n: 2}, {pid: 1, seq: math.MaxInt32 - 1, n: 3}},
			spec{pid: 1, seq: math.MaxInt32 - 1, n: 3}, want{action: Duplicate, base: 2},
		},

		{"non-idempotent batch", sixBatches, spec{pid: -1, n: 2}, appendOK},
		{"non-idempotent batch on an empty partition", nil, spec{pid: -1, n: 2}, appendOK},
		{"producer id without sequence", sixBatches, spec{pid: 1, seq: -1, n: 1}, want{action: Reject, err: kerr.InvalidRecord}},
		{"other producers do not interfere", append(append([]spec{}, sixBatches...), spec{pid: 2, seq: 0, n: 4}), spec{pid: 1, seq: 12, n: 1}, appendOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p PartitionProducers
			appendAll(t, &p, c.history)
			got := p.Check(build(t, c.probe))
			if got.Action != c.want.action || got.Err != c.want.err {
				t.Fatalf("Check(%+v) = %+v, want %v %v", c.probe, got, c.want.action, c.want.err)
			}
			switch got.Action {
			case Duplicate:
				if got.Original.BaseOffset != c.want.base {
					t.Fatalf("duplicate answered with base offset %d, want %d", got.Original.BaseOffset, c.want.base)
				}
			case Reject:
				if got.Reason == "" {
					t.Fatalf("reject without a reason: %+v", got)
				}
			}
		})
	}
}

// A duplicate must be answered exactly as the original append was: same
// offsets, same timestamp, even if the retry's bytes carry another time.
func TestDuplicateCarriesOriginalMeta(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, []spec{{pid: -1, n: 7}}) // offsets 0..6 taken by someone else
	orig := build(t, spec{pid: 5, epoch: 2, seq: 40, n: 3, ts: 1234})
	p.Update(orig, 7)
	d := p.Check(build(t, spec{pid: 5, epoch: 2, seq: 40, n: 3, ts: 9999}))
	want := BatchMeta{FirstSequence: 40, LastSequence: 42, BaseOffset: 7, LastOffset: 9, MaxTimestamp: 1236}
	if d.Action != Duplicate || d.Original != want {
		t.Fatalf("got %+v, want duplicate of %+v", d, want)
	}
}

func TestCheckDoesNotChangeState(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, sixBatches)
	before, _ := p.Producer(1)
	for _, s := range []spec{
		{pid: 1, seq: 12, n: 1}, {pid: 1, epoch: 1, seq: 0, n: 1}, {pid: 2, seq: 0, n: 1}, {pid: 1, seq: 99, n: 1},
	} {
		p.Check(build(t, s))
	}
	after, _ := p.Producer(1)
	if fmt.Sprint(before) != fmt.Sprint(after) || p.Len() != 1 {
		t.Fatalf("Check changed the state: %+v -> %+v (%d producers)", before, after, p.Len())
	}
}

func TestUpdateRetainsLastFive(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, sixBatches)
	got, ok := p.Producer(1)
	if !ok || got.Epoch != 0 || len(got.Batches) != BatchesRetained {
		t.Fatalf("got %+v, want epoch 0 with %d batches", got, BatchesRetained)
	}
	for i, m := range got.Batches {
		s := sixBatches[i+1]
		want := BatchMeta{FirstSequence: s.seq, LastSequence: s.seq + 1, BaseOffset: int64(s.seq), LastOffset: int64(s.seq) + 1, MaxTimestamp: s.ts + 1}
		if m != want {
			t.Fatalf("batch %d: got %+v, want %+v", i, m, want)
		}
	}
}

func TestNonIdempotentBatchesAreNotTracked(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, []spec{{pid: -1, n: 1}, {pid: -1, n: 1}, {pid: -1, n: 1}})
	if p.Len() != 0 {
		t.Fatalf("non-idempotent batches created %d producers", p.Len())
	}
}

// Update follows the log even where Check would refuse: a replicated or
// replayed log is the truth.
func TestUpdateFollowsTheLog(t *testing.T) {
	var p PartitionProducers
	p.Update(build(t, spec{pid: 1, epoch: 5, seq: 0, n: 1}), 0)
	p.Update(build(t, spec{pid: 1, epoch: 4, seq: 7, n: 1}), 1)
	got, _ := p.Producer(1)
	if got.Epoch != 4 || len(got.Batches) != 1 || got.Batches[0].FirstSequence != 7 {
		t.Fatalf("got %+v, want epoch 4 with only the batch at sequence 7", got)
	}
	if d := p.Check(build(t, spec{pid: 1, epoch: 4, seq: 8, n: 1})); d.Action != Append {
		t.Fatalf("next in sequence after a replayed epoch: %+v", d)
	}
}

// A transaction marker moves the epoch and holds no sequence: the producer
// must then start its epoch at 0, as in Kafka.
func TestControlBatchSetsEpochOnly(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, sixBatches[:2])
	marker := build(t, spec{pid: 1, epoch: 1, seq: 0, n: 1})
	marker.Attributes |= record.ControlBit
	marker.FirstSequence = -1
	p.Update(marker, 4)
	got, _ := p.Producer(1)
	if got.Epoch != 1 || len(got.Batches) != 0 {
		t.Fatalf("after marker: %+v, want epoch 1 and no batches", got)
	}
	if d := p.Check(build(t, spec{pid: 1, epoch: 1, seq: 3, n: 1})); d.Err != kerr.OutOfOrderSequenceNumber {
		t.Fatalf("sequence 3 after marker: %+v, want OUT_OF_ORDER_SEQUENCE_NUMBER", d)
	}
	if d := p.Check(build(t, spec{pid: 1, epoch: 1, seq: 0, n: 1})); d.Action != Append {
		t.Fatalf("sequence 0 after marker: %+v, want append", d)
	}
	if d := p.Check(build(t, spec{pid: 1, epoch: 0, seq: 4, n: 1})); d.Err != kerr.InvalidProducerEpoch {
		t.Fatalf("old epoch after marker: %+v, want INVALID_PRODUCER_EPOCH", d)
	}
}

func TestResetAndReplay(t *testing.T) {
	var live PartitionProducers
	history := append(append([]spec{}, sixBatches...), spec{pid: 2, epoch: 3, seq: 9, n: 2}, spec{pid: -1, n: 1})
	appendAll(t, &live, history)

	// Truncate the log to its first 3 batches: reset, replay what remains.
	live.Reset()
	if live.Len() != 0 {
		t.Fatalf("Reset left %d producers", live.Len())
	}
	var end int64
	for _, s := range history[:3] {
		b := build(t, s)
		record.SetBaseOffset(b.Raw, end)
		b.FirstOffset = end
		live.Replay(b)
		end += int64(s.n)
	}
	if d := live.Check(build(t, spec{pid: 1, seq: 6, n: 2})); d.Action != Append {
		t.Fatalf("after truncation to sequence 5, sequence 6 must append again: %+v", d)
	}
	if d := live.Check(build(t, sixBatches[2])); d.Action != Duplicate || d.Original.BaseOffset != 4 {
		t.Fatalf("retained batch after truncation: %+v", d)
	}
	if _, ok := live.Producer(2); ok {
		t.Fatalf("producer 2 only had batches past the truncation point")
	}
}

func TestDropBefore(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, []spec{
		{pid: 1, seq: 0, n: 2},  // offsets 0-1
		{pid: 2, seq: 0, n: 2},  // 2-3
		{pid: 1, seq: 2, n: 2},  // 4-5
		{pid: 3, seq: 50, n: 2}, // 6-7
	})
	p.DropBefore(4) // producer 2's last batch ended at 3
	if _, ok := p.Producer(2); ok {
		t.Fatalf("producer 2 (last offset 3) kept after log start 4")
	}
	if d := p.Check(build(t, spec{pid: 2, seq: 77, n: 1})); d.Action != Append {
		t.Fatalf("a dropped producer is unknown and accepted at any sequence: %+v", d)
	}
	p.DropBefore(5) // the log start inside producer 1's last batch
	got, ok := p.Producer(1)
	if !ok || len(got.Batches) != 2 {
		t.Fatalf("producer 1 (last offset 5) must keep its batches at log start 5: %+v", got)
	}
	p.DropBefore(6)
	if p.Len() != 1 {
		t.Fatalf("after log start 6: %d producers, want 1", p.Len())
	}
}

// The append path (known producer, in order) must not allocate.
func TestCheckUpdateDoNotAllocate(t *testing.T) {
	var p PartitionProducers
	appendAll(t, &p, sixBatches)
	batches := make([]*record.Batch, 100)
	for i := range batches {
		batches[i] = build(t, spec{pid: 1, seq: int32(12 + i), n: 1})
	}
	i := 0
	allocs := testing.AllocsPerRun(len(batches)-1, func() {
		b := batches[i]
		if d := p.Check(b); d.Action != Append {
			panic(fmt.Sprintf("batch %d: %+v", i, d))
		}
		p.Update(b, int64(12+i))
		i++
	})
	if allocs != 0 {
		t.Fatalf("Check+Update allocate %.1f times per batch", allocs)
	}
}

func BenchmarkCheckUpdate(b *testing.B) {
	var p PartitionProducers
	batch := build(b, spec{pid: 1, seq: 0, n: 1})
	var off int64
	b.ReportAllocs()
	for b.Loop() {
		if d := p.Check(batch); d.Action != Append {
			b.Fatalf("%+v", d)
		}
		p.Update(batch, off)
		off++
		batch.FirstSequence = record.IncrementSequence(batch.FirstSequence, 1)
	}
}
