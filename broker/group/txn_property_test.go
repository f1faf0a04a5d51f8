package group

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// TestPropertyTransactionalOffsets: plain commits, commits inside
// transactions of two producers, their commit and abort markers, in any
// order, against a model: the offsets OffsetFetch returns are exactly the
// plain commits and the commits of committed transactions, the later in
// the log winning; an aborted transaction's offsets are never visible;
// require_stable flags exactly the partitions with pending offsets; and
// the log loads back (Replay, ReplayTxnOffset, ReplayMarker) to the same
// offsets and pending offsets.
func TestPropertyTransactionalOffsets(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type at struct{ offset, pos int64 }
		tps := []string{"x/0", "x/1", "y/0"}
		committed := map[string]at{}
		pending := map[int64]map[string]at{}
		var log []logEntry
		s := NewShard(DefaultConfig(), func() string { return "id" })
		s.FinishLoad(1000, 0)
		apply := func(out Output) {
			if b := out.Batch; b != nil {
				for _, r := range b.Records {
					log = append(log, logEntry{Record: r, pid: -1})
				}
			}
			if b := out.TxnBatch; b != nil {
				if b.BaseOffset != int64(len(log)) {
					t.Fatalf("transactional batch at %d, log ends at %d", b.BaseOffset, len(log))
				}
				if b.Marker != nil {
					log = append(log, logEntry{pid: b.ProducerID, marker: b.Marker})
				}
				for _, r := range b.Records {
					log = append(log, logEntry{Record: r, pid: b.ProducerID})
				}
			}
			s.Durable(0, int64(len(log)))
		}
		parse := func(tp string) (string, int32) {
			var topic string
			var p int32
			fmt.Sscanf(tp, "%1s/%d", &topic, &p)
			return topic, p
		}
		t.Repeat(map[string]func(*rapid.T){
			"commit": func(t *rapid.T) {
				tp := rapid.SampledFrom(tps).Draw(t, "tp")
				o := rapid.Int64Range(0, 1000).Draw(t, "offset")
				topic, p := parse(tp)
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Version, req.Group, req.Generation = 8, "g", -1
				rt := kmsg.NewOffsetCommitRequestTopic()
				rt.Topic = topic
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Partition, rp.Offset = p, o
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				committed[tp] = at{o, int64(len(log))}
				apply(s.Commit(1000, req, "c"))
			},
			"txnCommit": func(t *rapid.T) {
				pid := rapid.Int64Range(1, 2).Draw(t, "producer")
				tp := rapid.SampledFrom(tps).Draw(t, "tp")
				o := rapid.Int64Range(0, 1000).Draw(t, "offset")
				topic, p := parse(tp)
				req := kmsg.NewPtrTxnOffsetCommitRequest()
				req.Version, req.Group, req.Generation, req.ProducerID = 3, "g", -1, pid
				rt := kmsg.NewTxnOffsetCommitRequestTopic()
				rt.Topic = topic
				rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
				rp.Partition, rp.Offset = p, o
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				if pending[pid] == nil {
					pending[pid] = map[string]at{}
				}
				pending[pid][tp] = at{o, int64(len(log))}
				apply(s.TxnCommit(1000, req, "t"))
			},
			"marker": func(t *rapid.T) {
				pid := rapid.Int64Range(1, 2).Draw(t, "producer")
				commit := rapid.Bool().Draw(t, "commit")
				if commit {
					for tp, p := range pending[pid] {
						if c, ok := committed[tp]; !ok || c.pos < p.pos {
							committed[tp] = p
						}
					}
				}
				delete(pending, pid)
				apply(s.CompleteTxn(1000, TxnMarker{ProducerID: pid, Commit: commit}, "m"))
			},
		})
		// What a stable fetch of every partition must say.
		var want string
		for _, tp := range tps {
			flag := ""
			for _, ps := range pending {
				if _, ok := ps[tp]; ok {
					flag = "!"
				}
			}
			o := int64(-1)
			if c, ok := committed[tp]; ok {
				o = c.offset
			}
			want += fmt.Sprintf(" %s=%d%s", tp, o, flag)
		}
		fetch := func(s *Shard) string {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.Version, req.RequireStable = 8, true
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = "g"
			for _, tp := range tps {
				topic, p := parse(tp)
				rt := kmsg.NewOffsetFetchRequestGroupTopic()
				rt.Topic, rt.Partitions = topic, []int32{p}
				g.Topics = append(g.Topics, rt)
			}
			req.Groups = append(req.Groups, g)
			out := s.FetchOffsets(1000, req, "f")
			var got string
			for _, rt := range out.Replies[0].Resp.(*kmsg.OffsetFetchResponse).Groups[0].Topics {
				for _, rp := range rt.Partitions {
					flag := ""
					if rp.ErrorCode != 0 {
						flag = "!"
					}
					got += fmt.Sprintf(" %s/%d=%d%s", rt.Topic, rp.Partition, rp.Offset, flag)
				}
			}
			return got
		}
		if got := fetch(s); got != want {
			t.Fatalf("live shard fetches%s, want%s", got, want)
		}
		loaded := NewShard(DefaultConfig(), func() string { return "id" })
		for _, e := range log {
			if err := e.replay(loaded); err != nil {
				t.Fatalf("replay: %v", err)
			}
		}
		loaded.FinishLoad(1000, int64(len(log)))
		if got := fetch(loaded); got != want {
			t.Fatalf("loaded shard fetches%s, want%s", got, want)
		}
		if a, b := s.Dump(), loaded.Dump(); a != b {
			t.Fatalf("live state\n%s\nloads back as\n%s", a, b)
		}
	})
}
