package txn

import (
	"maps"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
)

func TestLastOffsets(t *testing.T) {
	var p PartitionProducers
	offset := int64(0)
	add := func(opts recordtest.Options, n int) {
		t.Helper()
		values := make([][]byte, n)
		b, err := record.Parse(recordtest.Batch(opts, values...))
		if err != nil {
			t.Fatal(err)
		}
		p.Update(&b, offset)
		offset += int64(n)
	}
	add(recordtest.Options{Idempotent: true, ProducerID: 1}, 3)                  // 0..2
	add(recordtest.Options{Idempotent: true, ProducerID: 2}, 2)                  // 3..4
	add(recordtest.Options{Idempotent: true, ProducerID: 1, BaseSequence: 3}, 1) // 5
	add(recordtest.Options{}, 4)                                                 // no producer id
	want := map[int64]int64{1: 5, 2: 4}
	if got := p.LastOffsets(); !maps.Equal(got, want) {
		t.Fatalf("LastOffsets %v, want %v", got, want)
	}
}
