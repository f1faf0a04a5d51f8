package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchTopicMax: with the defect, OffsetFetch answers each partition
// with the topic's highest committed offset; without it, with its own.
func TestFetchTopicMax(t *testing.T) {
	for _, defect := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Defects.FetchTopicMax = defect
		s := NewShard(cfg, func() string { return "m" })
		s.FinishLoad(0, 0)
		durable := func(out Output) []Reply {
			replies := out.Replies
			if out.Batch != nil {
				replies = append(replies, s.Durable(out.Batch.BaseOffset+int64(len(out.Batch.Records))).Replies...)
			}
			return replies
		}
		// An admin commit (no generation) to an empty group: 5 and 9.
		c := kmsg.NewPtrOffsetCommitRequest()
		c.Version, c.Group, c.Generation = 8, "g", -1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "t"
		for p, o := range []int64{5, 9} {
			cp := kmsg.NewOffsetCommitRequestTopicPartition()
			cp.Partition, cp.Offset = int32(p), o
			ct.Partitions = append(ct.Partitions, cp)
		}
		c.Topics = append(c.Topics, ct)
		if rs := durable(s.Commit(1, c, 1)); len(rs) != 1 {
			t.Fatalf("%d answers to a commit", len(rs))
		}
		f := kmsg.NewPtrOffsetFetchRequest()
		f.Version = 8
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		f.Groups = append(f.Groups, rg)
		rs := durable(s.FetchOffsets(2, f, 2))
		if len(rs) != 1 {
			t.Fatalf("%d answers to a fetch", len(rs))
		}
		resp := rs[0].Resp.(*kmsg.OffsetFetchResponse)
		got := map[int32]int64{}
		for _, tp := range resp.Groups[0].Topics {
			for _, p := range tp.Partitions {
				got[p.Partition] = p.Offset
			}
		}
		want := map[int32]int64{0: 5, 1: 9}
		if defect {
			want[0] = 9
		}
		if got[0] != want[0] || got[1] != want[1] {
			t.Errorf("defect %v: fetched %v, want %v", defect, got, want)
		}
	}
}
