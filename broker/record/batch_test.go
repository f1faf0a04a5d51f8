package record_test

import (
	"errors"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
)

func TestParseValidBatch(t *testing.T) {
	raw := recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: 7, ProducerEpoch: 1, BaseSequence: 10, TimestampMs: 1000},
		[]byte("a"), []byte("bb"), []byte("ccc"))
	trailing := append(append([]byte{}, raw...), 1, 2, 3)
	b, err := record.Parse(trailing)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != len(raw) || b.NumRecords != 3 || b.ProducerID != 7 || b.LastSequence() != 12 || b.MaxTimestamp != 1002 {
		t.Fatalf("parsed %+v", b.RecordBatch)
	}
	if err := record.ValidateProduced(&b); err != nil {
		t.Fatal(err)
	}
	record.SetBaseOffset(raw, 42)
	b2, err := record.Parse(raw)
	if err != nil {
		t.Fatalf("base offset rewrite broke the batch: %v", err)
	}
	if b2.FirstOffset != 42 || b2.LastOffset() != 44 {
		t.Fatalf("offsets %d..%d", b2.FirstOffset, b2.LastOffset())
	}
	record.SetLogAppendTime(raw, 5555)
	b3, err := record.Parse(raw)
	if err != nil {
		t.Fatalf("log append time rewrite broke the CRC: %v", err)
	}
	if b3.MaxTimestamp != 5555 || b3.Attributes&record.TimestampTypeBit == 0 {
		t.Fatalf("timestamp %d attrs %x", b3.MaxTimestamp, b3.Attributes)
	}
}

func TestParseRejects(t *testing.T) {
	good := recordtest.Batch(recordtest.Options{}, []byte("x"), []byte("y"))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	cases := []struct {
		name string
		raw  []byte
		want error
	}{
		{"empty", nil, record.ErrTruncated},
		{"short", good[:len(good)-1], record.ErrTruncated},
		{"flipped payload bit", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), record.ErrCorrupt},
		{"magic 1", mut(func(b []byte) []byte { b[16] = 1; return b }), record.ErrOldMagic},
		{"magic 0", mut(func(b []byte) []byte { b[16] = 0; return b }), record.ErrOldMagic},
		{"tiny length", mut(func(b []byte) []byte { b[8], b[9], b[10], b[11] = 0, 0, 0, 3; return b }), record.ErrCorrupt},
	}
	for _, c := range cases {
		if _, err := record.Parse(c.raw); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestValidateProducedCountMismatch(t *testing.T) {
	raw := recordtest.Batch(recordtest.Options{}, []byte("x"), []byte("y"))
	b, err := record.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.NumRecords = 3
	b.LastOffsetDelta = 2
	if err := record.ValidateProduced(&b); !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

func TestIncrementSequenceWraps(t *testing.T) {
	if got := record.IncrementSequence(1<<31-1, 1); got != 0 {
		t.Fatalf("got %d", got)
	}
	if got := record.IncrementSequence(1<<31-2, 3); got != 1 {
		t.Fatalf("got %d", got)
	}
	if got := record.IncrementSequence(5, 3); got != 8 {
		t.Fatalf("got %d", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(recordtest.Batch(recordtest.Options{}, []byte("x")))
	f.Add(recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: 1}, []byte("x"), []byte("yz")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := record.Parse(raw)
		if err != nil {
			return
		}
		if b.Size() > len(raw) || b.Size() < record.HeaderSize {
			t.Fatalf("size %d of %d", b.Size(), len(raw))
		}
		_ = record.ValidateProduced(&b)
	})
}

// BenchmarkValidateProduced validates a 512 KiB batch of 100-byte records,
// the size a full-speed producer sends: the framing walk over every record
// is the per-record cost of a produce.
func BenchmarkValidateProduced(b *testing.B) {
	values := make([][]byte, 512<<10/100)
	for i := range values {
		values[i] = make([]byte, 100)
	}
	raw := recordtest.Batch(recordtest.Options{}, values...)
	batch, err := record.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for range b.N {
		if err := record.ValidateProduced(&batch); err != nil {
			b.Fatal(err)
		}
	}
}
