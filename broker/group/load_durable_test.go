package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFinishLoadDurable: a shard loaded from a log whose tail is past the
// high watermark holds its answers until Durable reports the log end, as
// they may rest on the tail; loaded as all durable, it answers at once.
func TestFinishLoadDurable(t *testing.T) {
	oc := &offsetCommit{offset: 7, leaderEpoch: 1, commitMs: 1, expireMs: -1}
	rec := offsetCommitRecord("g", "t", 0, oc)
	fetch := func() *kmsg.OffsetFetchRequest {
		f := kmsg.NewPtrOffsetFetchRequest()
		f.Version = 8
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		f.Groups = append(f.Groups, rg)
		return f
	}
	for _, tail := range []bool{false, true} {
		s := NewShard(DefaultConfig(), func() string { return "m" })
		if err := s.Replay(rec.Key, rec.Value); err != nil {
			t.Fatal(err)
		}
		durable := int64(1)
		if tail {
			durable = 0 // the commit record is the unreplicated tail
		}
		s.FinishLoadDurable(1, 1, durable)
		out := s.FetchOffsets(2, fetch(), "w")
		if got := len(out.Replies); got != map[bool]int{false: 1, true: 0}[tail] {
			t.Fatalf("tail %v: %d answers before the tail is durable", tail, got)
		}
		if tail && len(s.Durable(0, 1).Replies) != 1 {
			t.Fatal("the answer was not released once the tail was durable")
		}
	}
}
