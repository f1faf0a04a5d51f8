package gen

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// A tombstone (a null value) is recorded with the history value its
// header carries; an empty value is not a tombstone.
func TestRecordValueTombstone(t *testing.T) {
	for _, tc := range []struct {
		r    kgo.Record
		want history.Record
	}{
		{kgo.Record{Offset: 3, Key: []byte("k"), Value: []byte("v")}, history.Record{Offset: 3, Key: "k", Value: "v"}},
		{kgo.Record{Offset: 4, Key: []byte("k"), Headers: []kgo.RecordHeader{{Key: history.TombstoneHeader, Value: []byte("kv1-2")}}},
			history.Record{Offset: 4, Key: "k", Value: "kv1-2", Tombstone: true}},
		{kgo.Record{Offset: 5, Key: []byte("k"), Value: []byte{}, Headers: []kgo.RecordHeader{{Key: history.TombstoneHeader, Value: []byte("x")}}},
			history.Record{Offset: 5, Key: "k"}},
		{kgo.Record{Offset: 6, Key: []byte("k")}, history.Record{Offset: 6, Key: "k"}},
	} {
		if got := recordValue(&tc.r); got != tc.want {
			t.Errorf("%+v: got %+v, want %+v", tc.r, got, tc.want)
		}
	}
}

// A poll records the leader epoch of each batch it returned, from the
// first offset returned in it; without a client the epoch it was answered
// in is unknown.
func TestPollValueEpochs(t *testing.T) {
	recs := []*kgo.Record{
		{Topic: "t", Partition: 0, Offset: 3, LeaderEpoch: 1, Value: []byte("a")},
		{Topic: "t", Partition: 0, Offset: 4, LeaderEpoch: 1, Value: []byte("b")},
		{Topic: "t", Partition: 0, Offset: 5, LeaderEpoch: 2, Value: []byte("m")},
		{Topic: "t", Partition: 0, Offset: 7, LeaderEpoch: 4, Value: []byte("c")},
	}
	fs := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "t", Partitions: []kgo.FetchPartition{{Partition: 0, HighWatermark: 8, Records: recs}}}}}}
	p, errs := PollValue(fs, nil)
	if errs != "" || len(p.Reads) != 1 {
		t.Fatalf("%+v, %q", p, errs)
	}
	want := []history.EpochStart{{Epoch: 1, Offset: 3}, {Epoch: 2, Offset: 5}, {Epoch: 4, Offset: 7}}
	if got := p.Reads[0].Epochs; !slices.Equal(got, want) {
		t.Errorf("epochs %v, want %v", got, want)
	}
	if p.Reads[0].LeaderEpoch != nil {
		t.Errorf("leader epoch %d without a client", *p.Reads[0].LeaderEpoch)
	}
}
