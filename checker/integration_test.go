package checker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

// recordHistory runs the queue workload (pipelined producers) and the final
// read against a real broker and returns the history as decoded from its
// history.jsonl.
func recordHistory(t *testing.T) []history.Op {
	t.Helper()
	cfg := queue.Config{
		Topic: "queue", Partitions: 3, Producers: 3, InFlight: 4, Consumers: 4,
		SendsPerProducer: 60, Duration: 20 * time.Second, Seed: 42,
		ReassignChance: 0.1, PollTimeout: 200 * time.Millisecond,
		Bootstrap: []string{brokertest.Start(t)},
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	if err := queue.FinalReads(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := history.Encode(&buf, rec.Ops()); err != nil {
		t.Fatal(err)
	}
	h, err := history.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	return h
}

// clone deep-copies a history so a mutation leaves the original alone.
func clone(h []history.Op) []history.Op {
	out := slices.Clone(h)
	for i := range out {
		if s := out[i].Send; s != nil {
			c := *s
			out[i].Send = &c
		}
		if p := out[i].Poll; p != nil {
			c := history.Poll{Reads: slices.Clone(p.Reads)}
			for j := range c.Reads {
				c.Reads[j].Records = slices.Clone(c.Reads[j].Records)
			}
			out[i].Poll = &c
		}
	}
	return out
}

// eachRecord calls fn on every record read, with its poll op and partition.
func eachRecord(h []history.Op, fn func(op *history.Op, pr *history.PartitionRead, r *history.Record)) {
	for i := range h {
		if h[i].Poll == nil {
			continue
		}
		for j := range h[i].Poll.Reads {
			pr := &h[i].Poll.Reads[j]
			for k := range pr.Records {
				fn(&h[i], pr, &pr.Records[k])
			}
		}
	}
}

// okSends returns the ok send completions, in history order.
func okSends(h []history.Op) []*history.Op {
	var out []*history.Op
	for i := range h {
		if h[i].F == history.FnSend && h[i].Type == history.OK {
			out = append(out, &h[i])
		}
	}
	return out
}

// appendPoll appends an invoke and an ok poll of a new process reading pr.
func appendPoll(h []history.Op, proc int, pr history.PartitionRead) []history.Op {
	last := h[len(h)-1]
	h = append(h, history.Op{Index: last.Index + 1, Time: last.Time + 1, Process: proc, Type: history.Invoke, F: history.FnPoll})
	return append(h, history.Op{Index: last.Index + 2, Time: last.Time + 2, Process: proc, Type: history.OK, F: history.FnPoll,
		Poll: &history.Poll{Reads: []history.PartitionRead{pr}}})
}

// TestRealHistoryAndBrokenBrokers judges a real broker's history valid,
// then plants in it what a broken broker would have shown, and requires
// the checker named to fire, naming the ops planted, and nothing unrelated.
func TestRealHistoryAndBrokenBrokers(t *testing.T) {
	h := recordHistory(t)
	v := checker.Check(h, checker.Opts{})
	t.Log(v.Summary())
	if v.Outcome != checker.Valid || len(v.Anomalies) != 0 {
		t.Fatalf("history of a correct broker judged:\n%s", v.Summary())
	}
	if v.Stats.SendsOK != 180 || v.Stats.AckedRead != 180 || v.Stats.FinalPartitions != 3 {
		t.Fatalf("stats %+v: want 180 acked sends, all read, 3 partitions finally read", v.Stats)
	}
	for _, r := range v.Linearizability {
		if r.Result != "ok" || r.Appends == 0 || r.Reads == 0 {
			t.Fatalf("linearizability %+v", r)
		}
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	sends := okSends(h)
	final := map[int32]int64{}
	for _, op := range h {
		if op.F == history.FnFinal && op.Type == history.OK {
			for _, m := range op.Final.Marks {
				final[m.Partition] = m.HighWatermark
			}
		}
	}
	// expect checks the mutated history m: the anomalies of want are found
	// at least that often, and any other anomaly found is in also.
	expect := func(t *testing.T, m []history.Op, want map[string]int, also ...string) checker.Verdict {
		t.Helper()
		if err := history.Validate(m); err != nil {
			t.Fatalf("mutated history: %v", err)
		}
		v := checker.Check(m, checker.Opts{})
		t.Log(v.Summary())
		if v.Outcome != checker.Invalid {
			t.Fatalf("outcome %s:\n%s", v.Outcome, v.Summary())
		}
		for name, n := range want {
			if v.Counts[name] < n {
				t.Fatalf("%s ×%d, want at least %d:\n%s", name, v.Counts[name], n, v.Summary())
			}
		}
		for name := range v.Counts {
			if _, ok := want[name]; !ok && !slices.Contains(also, name) {
				t.Fatalf("unrelated %s:\n%s", name, v.Summary())
			}
		}
		return v
	}
	// A send in the middle of partition 0, so later offsets were read.
	var victim, other *history.Op
	for _, s := range sends {
		if s.Send.Partition == 0 && s.Send.Offset == final[0]/2 {
			victim = s
		}
		if s.Send.Partition == 0 && s.Send.Offset == final[0]/2+1 {
			other = s
		}
	}
	if victim == nil || other == nil {
		t.Fatal("no acked sends in the middle of partition 0")
	}
	named := func(t *testing.T, w checker.Witness, ops ...int64) {
		t.Helper()
		for _, o := range ops {
			if !slices.Contains(w.Ops, o) {
				t.Fatalf("witness %+v does not name op %d", w, o)
			}
		}
	}
	t.Run("lost: record dropped from every poll", func(t *testing.T) {
		m := clone(h)
		for i := range m {
			if m[i].Poll == nil {
				continue
			}
			for j := range m[i].Poll.Reads {
				pr := &m[i].Poll.Reads[j]
				pr.Records = slices.DeleteFunc(pr.Records, func(r history.Record) bool { return r.Value == victim.Send.Value })
			}
		}
		v := expect(t, m, map[string]int{checker.LostWrite: 1, checker.Nonlinearizable: 1},
			checker.Unseen, checker.IntPollSkip, checker.PollSkip)
		w := v.Anomalies[checker.LostWrite][0]
		if w.Values[0] != victim.Send.Value {
			t.Fatalf("witness %+v does not name send %s", w, victim.Send.Value)
		}
		named(t, w, victim.Index)
	})
	t.Run("duplicate: value again at a new offset", func(t *testing.T) {
		m := appendPoll(clone(h), 1<<20, history.PartitionRead{Topic: "queue", Partition: 0, HighWatermark: final[0] + 1,
			Records: []history.Record{{Offset: final[0], Key: victim.Send.Key, Value: victim.Send.Value}}})
		v := expect(t, m, map[string]int{checker.Duplicate: 1})
		w := v.Anomalies[checker.Duplicate][0]
		if w.Values[0] != victim.Send.Value || len(w.Positions) != 2 || w.Positions[1].Offset != final[0] {
			t.Fatalf("witness %+v does not name %s at offsets %d and %d", w, victim.Send.Value, victim.Send.Offset, final[0])
		}
	})
	t.Run("lost: two records swapped in the log", func(t *testing.T) {
		m := clone(h)
		eachRecord(m, func(_ *history.Op, _ *history.PartitionRead, r *history.Record) {
			switch r.Value {
			case victim.Send.Value:
				r.Value, r.Key = other.Send.Value, other.Send.Key
			case other.Send.Value:
				r.Value, r.Key = victim.Send.Value, victim.Send.Key
			}
		})
		v := expect(t, m, map[string]int{checker.LostWrite: 2, checker.InconsistentOffsets: 2, checker.Duplicate: 2, checker.Nonlinearizable: 1},
			checker.NonmonotonicSend)
		for i, s := range []*history.Op{victim, other} {
			named(t, v.Anomalies[checker.LostWrite][i], s.Index)
		}
	})
	t.Run("inconsistent: one consumer sees another value", func(t *testing.T) {
		m := clone(h)
		changed := false
		eachRecord(m, func(op *history.Op, _ *history.PartitionRead, r *history.Record) {
			if !changed && op.Process != queue.FinalReader && r.Value == victim.Send.Value {
				r.Value, r.Key, changed = other.Send.Value, other.Send.Key, true
			}
		})
		if !changed {
			t.Skip("no consumer read the victim")
		}
		v := expect(t, m, map[string]int{checker.InconsistentOffsets: 1, checker.Duplicate: 1, checker.Nonlinearizable: 1},
			checker.IntNonmonotonicPoll, checker.NonmonotonicPoll, checker.IntPollSkip, checker.PollSkip)
		w := v.Anomalies[checker.InconsistentOffsets][0]
		if w.Positions[0].Offset != victim.Send.Offset || !slices.Contains(w.Values, victim.Send.Value) || !slices.Contains(w.Values, other.Send.Value) {
			t.Fatalf("witness %+v does not name offset %d with %s and %s", w, victim.Send.Offset, victim.Send.Value, other.Send.Value)
		}
	})
	t.Run("phantom: a consumer reads a value nobody sent", func(t *testing.T) {
		m := clone(h)
		eachRecord(m, func(op *history.Op, _ *history.PartitionRead, r *history.Record) {
			if r.Value == victim.Send.Value {
				r.Value = "corrupt"
			}
		})
		v := expect(t, m, map[string]int{checker.PhantomValue: 1, checker.LostWrite: 1, checker.InconsistentOffsets: 1, checker.Nonlinearizable: 1},
			checker.Unseen)
		if w := v.Anomalies[checker.PhantomValue][0]; w.Values[0] != "corrupt" {
			t.Fatalf("witness %+v", w)
		}
	})
	t.Run("aborted read: a read send reported failed", func(t *testing.T) {
		m := clone(h)
		m[victim.Index].Type, m[victim.Index].Error = history.Fail, "MESSAGE_TOO_LARGE"
		v := expect(t, m, map[string]int{checker.AbortedRead: 1})
		named(t, v.Anomalies[checker.AbortedRead][0], victim.Index)
	})
	t.Run("nonmonotonic send: two acknowledged offsets swapped", func(t *testing.T) {
		m := clone(h)
		var a, b *history.Op
		for i := range m {
			if s := m[i].Send; s != nil && m[i].Type == history.OK && s.Partition == 0 {
				if a != nil && a.Send.Client == s.Client && b == nil {
					b = &m[i]
				} else if a == nil {
					a = &m[i]
				}
			}
		}
		a.Send.Offset, b.Send.Offset = b.Send.Offset, a.Send.Offset
		v := expect(t, m, map[string]int{checker.NonmonotonicSend: 1, checker.LostWrite: 2},
			checker.InconsistentOffsets, checker.Duplicate, checker.Nonlinearizable, checker.Unseen)
		var all checker.Witness
		for _, w := range v.Anomalies[checker.NonmonotonicSend] {
			all.Ops = append(all.Ops, w.Ops...)
		}
		named(t, all, a.Index, b.Index)
	})
	// A consumer poll (not the final reader's) with three records of one
	// partition whose middle one the final reader read too.
	var pollIdx int64 = -1
	var prIdx int
	for i := range h {
		if pollIdx >= 0 || h[i].Poll == nil || h[i].Process == queue.FinalReader {
			continue
		}
		for j, pr := range h[i].Poll.Reads {
			if len(pr.Records) >= 3 {
				pollIdx, prIdx = int64(i), j
				break
			}
		}
	}
	if pollIdx < 0 {
		t.Fatal("no consumer poll with three records of one partition")
	}
	t.Run("int poll skip: a consumer jumps over a record", func(t *testing.T) {
		m := clone(h)
		pr := &m[pollIdx].Poll.Reads[prIdx]
		skipped := pr.Records[1]
		pr.Records = slices.Delete(pr.Records, 1, 2)
		v := expect(t, m, map[string]int{checker.IntPollSkip: 1, checker.Nonlinearizable: 1}, checker.PollSkip)
		if w := v.Anomalies[checker.IntPollSkip][0]; w.Positions[1].Offset != skipped.Offset || !slices.Contains(w.Ops, pollIdx) {
			t.Fatalf("witness %+v does not name offset %d of op %d", w, skipped.Offset, pollIdx)
		}
	})
	t.Run("int nonmonotonic poll: a consumer reads backwards", func(t *testing.T) {
		m := clone(h)
		rs := m[pollIdx].Poll.Reads[prIdx].Records
		rs[0], rs[1] = rs[1], rs[0]
		// The poll now starts past where the previous one ended: a
		// poll-skip too, when it was not the session's first.
		v := expect(t, m, map[string]int{checker.IntNonmonotonicPoll: 1, checker.Nonlinearizable: 1}, checker.IntPollSkip, checker.PollSkip)
		if w := v.Anomalies[checker.IntNonmonotonicPoll][0]; w.Positions[0].Offset != rs[0].Offset || w.Positions[1].Offset != rs[1].Offset {
			t.Fatalf("witness %+v does not name offsets %d then %d", w, rs[0].Offset, rs[1].Offset)
		}
	})
	t.Run("stale read: a poll after the run answers an old high watermark", func(t *testing.T) {
		m := clone(h)
		last := m[len(m)-1]
		a := &history.Assign{Topic: "queue", Partitions: []int32{0}}
		m = append(m, history.Op{Index: last.Index + 1, Time: last.Time + 1, Process: 1 << 20, Type: history.Invoke, F: history.FnAssign, Assign: a},
			history.Op{Index: last.Index + 2, Time: last.Time + 2, Process: 1 << 20, Type: history.OK, F: history.FnAssign, Assign: a})
		m = appendPoll(m, 1<<20, history.PartitionRead{Topic: "queue", Partition: 0, HighWatermark: 1})
		v := expect(t, m, map[string]int{checker.Nonlinearizable: 1, checker.WatermarkRegression: 1})
		named(t, v.Anomalies[checker.Nonlinearizable][0], int64(len(m)-1))
	})
}
