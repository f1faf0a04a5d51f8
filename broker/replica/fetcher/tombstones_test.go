package fetcher

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/replica"
)

// roundTrip encodes a Fetch response (the fetcher's version) holding sp
// and decodes it back, as a follower receives it.
func roundTrip(t testing.TB, sp kmsg.FetchResponseTopicPartition) kmsg.FetchResponseTopicPartition {
	t.Helper()
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = fetchVersion
	topic := kmsg.NewFetchResponseTopic()
	topic.Partitions = append(topic.Partitions, sp)
	resp.Topics = append(resp.Topics, topic)
	got := kmsg.NewPtrFetchResponse()
	got.Version = fetchVersion
	if err := got.ReadFrom(resp.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	return got.Topics[0].Partitions[0]
}

// The leader's tombstone mark crosses the wire in the Fetch response's
// partition and reads back the same; an answer without it reads as zero;
// a tag that does not hold two int64s is an error, not a mark.
func TestTombstoneMarkOnTheWire(t *testing.T) {
	for _, m := range []replica.TombstoneMark{{}, {Below: 590, Gen: 3}, {Below: 1 << 40, Gen: 1}} {
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.RecordBatches = []byte{}
		sp.DivergingEpoch.Epoch = 2 // a Kafka tag next to it
		SetTombstoneMark(&sp, m)
		got, err := TombstoneMarkOf(&sp)
		if back := roundTrip(t, sp); err != nil || got != m {
			t.Errorf("mark %v read back as %v, %v", m, got, err)
		} else if got, err := TombstoneMarkOf(&back); err != nil || got != m || back.DivergingEpoch.Epoch != 2 {
			t.Errorf("mark %v crossed the wire as %v, %v (diverging epoch %d)", m, got, err, back.DivergingEpoch.Epoch)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 15), make([]byte, 17), bytes.Repeat([]byte{0xff}, 16)} {
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.UnknownTags.Set(tombstoneTag, bad)
		if m, err := TombstoneMarkOf(&sp); err == nil {
			t.Errorf("tag %x read as mark %v", bad, m)
		}
	}
}

// FuzzTombstoneMarkOf: a tag from a leader (outside bytes) is a mark that
// encodes back to the same bytes, or an error; never a panic.
func FuzzTombstoneMarkOf(f *testing.F) {
	f.Add(make([]byte, 16))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 2, 0x4e, 0, 0, 0, 0, 0, 0, 0, 3})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, val []byte) {
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.UnknownTags.Set(tombstoneTag, val)
		m, err := TombstoneMarkOf(&sp)
		if err != nil || m == (replica.TombstoneMark{}) {
			return
		}
		again := kmsg.NewFetchResponseTopicPartition()
		SetTombstoneMark(&again, m)
		again.UnknownTags.Each(func(_ uint32, enc []byte) {
			if !bytes.Equal(enc, val) {
				t.Fatalf("tag %x read as %v, which encodes as %x", val, m, enc)
			}
		})
	})
}
