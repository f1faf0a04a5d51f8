package gen

import (
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
