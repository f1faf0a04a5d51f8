package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestAnswerWaitsForDurable: an answer the shell decided (a refusal) waits,
// like the shard's own, for the records written before it to be durable.
func TestAnswerWaitsForDurable(t *testing.T) {
	s := NewShard(DefaultConfig(), func() string { return "m" })
	s.FinishLoad(0, 0)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = "g", -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Offset = 5
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	out := s.Commit(1, req, "commit")
	if out.Batch == nil || len(out.Replies) != 0 {
		t.Fatalf("commit: %+v", out)
	}
	end := out.Batch.BaseOffset + int64(len(out.Batch.Records))
	out = s.Answer(2, "refusal", MarkerError(51))
	if len(out.Replies) != 0 {
		t.Fatalf("a refusal went out before the commit's record was durable: %+v", out.Replies)
	}
	out = s.Durable(0, end)
	if len(out.Replies) != 2 || out.Replies[1].To != "refusal" {
		t.Fatalf("after the record is durable: %+v", out.Replies)
	}
}
