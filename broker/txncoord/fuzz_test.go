package txncoord

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzReplay: records read back from __transaction_state are outside
// bytes. Replay refuses what does not decode with an error, never panics,
// and a shard that loaded anything still serves: it lists, describes, ticks
// and sends the markers of what it loaded as prepared.
func FuzzReplay(f *testing.F) {
	m := &txnMeta{
		id: "tx", producerID: 7, prevProducerID: -1, nextProducerID: -1, epoch: 3, timeoutMs: 1000,
		state: PrepareCommit, partitions: map[TopicPartition]bool{{"t", 0}: true, {"u", 2}: true},
		startMs: 5, updateMs: 6, tv2: true,
	}
	var w Shard
	w.write(m)
	f.Add(w.records[0].Key, w.records[0].Value)
	f.Add(w.records[0].Key, []byte(nil))
	f.Add([]byte{0, 1}, []byte{0, 1})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		s := NewShard(DefaultConfig())
		_ = s.Replay(key, value)
		out := s.FinishLoad(1, 1, 0)
		for _, j := range out.Markers {
			s.MarkersWritten(2, j)
		}
		s.Tick(1 << 40)
		list := s.List(2, kmsg.NewPtrListTransactionsRequest(), nil, "l")
		if len(list.Replies)+len(s.Durable(1<<40).Replies) != 1 {
			t.Fatal("list was not answered once")
		}
		s.Describe(2, s.sortedIDs(), "d")
	})
}
