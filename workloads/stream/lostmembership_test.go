package stream

import (
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
)

// TestCommitAfterLostMembershipEndsTheIncarnation (seed 73109): an
// at-least-once member whose commit is answered ILLEGAL_GENERATION has
// lost its partitions (another member may hold them already) even though
// kgo rejoins keeping them; its batch must end the incarnation, so that it
// commits nothing more of them. A batch whose commit is accepted goes on.
func TestCommitAfterLostMembershipEndsTheIncarnation(t *testing.T) {
	c, ctx := kfakeCluster(t)
	var generationOver atomic.Bool
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !generationOver.Load() {
			return nil, nil, false
		}
		r := req.(*kmsg.OffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.IllegalGeneration.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})

	m, rec := kfakeMember(t, c, nil)
	defer m.crash()
	poll := func() []*kgo.Record {
		var rs []*kgo.Record
		for len(rs) == 0 && ctx.Err() == nil {
			m.pollRecords(ctx).EachRecord(func(r *kgo.Record) { rs = append(rs, r) })
			m.applyEvents()
		}
		return rs
	}

	produceIn(ctx, t, c, "a", "b")
	rs := poll()
	if !m.plainBatch(rs) {
		t.Fatal("a batch whose commit was accepted ended the incarnation")
	}
	want := rs[len(rs)-1].Offset + 1
	if got := m.p.Committed(0); got != want {
		t.Fatalf("committed %d after the first batch, want %d", got, want)
	}
	produceIn(ctx, t, c, "c")
	generationOver.Store(true)
	if m.plainBatch(poll()) {
		t.Fatal("the member went on after its commit was answered ILLEGAL_GENERATION")
	}
	if got := m.p.Committed(0); got != want {
		t.Fatalf("committed %d after the refused commit, want %d still", got, want)
	}
	var last *history.Commit
	for _, op := range rec.Ops() {
		if op.F == history.FnCommit && op.Type != history.Invoke {
			last = op.Commit
		}
	}
	if last == nil || len(last.Offsets) != 1 || last.Offsets[0].Error == "" {
		t.Fatalf("the refused commit is not recorded with its error: %+v", last)
	}
}
