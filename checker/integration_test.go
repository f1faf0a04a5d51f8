package checker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

func startBroker(t *testing.T) string { return brokertest.Start(t) }

// recordHistory runs the queue workload and the final reads against a real
// broker and returns the history as decoded from its history.jsonl.
func recordHistory(t *testing.T) []history.Op {
	t.Helper()
	cfg := queue.Config{
		Topic: "queue", Partitions: 3, Producers: 3, Consumers: 4,
		SendsPerProducer: 60, Duration: 20 * time.Second, Seed: 42,
		ReassignChance: 0.1, PollTimeout: 200 * time.Millisecond,
		Bootstrap: []string{startBroker(t)},
	}
	rec := history.NewRecorder(nil)
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

// appendPoll appends an invoke and an ok poll of a new process reading rs.
func appendPoll(h []history.Op, proc int, pr history.PartitionRead) []history.Op {
	last := h[len(h)-1]
	h = append(h, history.Op{Index: last.Index + 1, Time: last.Time + 1, Process: proc, Type: history.Invoke, F: history.FnPoll})
	return append(h, history.Op{Index: last.Index + 2, Time: last.Time + 2, Process: proc, Type: history.OK, F: history.FnPoll,
		Poll: &history.Poll{Reads: []history.PartitionRead{pr}}})
}

func counts(v checker.Verdict) map[string]int { return v.Counts }

func TestRealHistoryAndBrokenBrokers(t *testing.T) {
	h := recordHistory(t)
	v := checker.Check(h, checker.Opts{})
	t.Log(v.Summary())
	if !v.Valid || len(v.Anomalies) != 0 {
		t.Fatalf("history of a correct broker judged invalid:\n%s", v.Summary())
	}
	if v.Stats.SendsOK != 180 || v.Stats.AckedRead != 180 || v.Stats.FinalPartitions != 3 {
		t.Fatalf("stats %+v: want 180 acked sends, all read, 3 partitions finally read", v.Stats)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	sends := okSends(h)
	final := map[int32]int64{}
	for _, op := range h {
		if op.F == history.FnFinal && op.Type == history.OK {
			for _, m := range op.Final.HighWatermarks {
				final[m.Partition] = m.Offset
			}
		}
	}

	// expect checks the mutated history m has exactly the anomalies want
	// and returns the verdict.
	expect := func(t *testing.T, m []history.Op, want map[string]int) checker.Verdict {
		t.Helper()
		if err := history.Validate(m); err != nil {
			t.Fatalf("mutated history: %v", err)
		}
		v := checker.Check(m, checker.Opts{})
		t.Log(v.Summary())
		if v.Valid || !maps.Equal(counts(v), want) {
			t.Fatalf("counts %v, want %v:\n%s", counts(v), want, v.Summary())
		}
		return v
	}
	// A send in the middle of partition 0, so later offsets were read.
	var victim *history.Op
	for _, s := range sends {
		if s.Send.Partition == 0 && s.Send.Offset == final[0]/2 {
			victim = s
		}
	}
	if victim == nil {
		t.Fatal("no acked send in the middle of partition 0")
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
		v := expect(t, m, map[string]int{checker.LostWrite: 1})
		w := v.Anomalies[checker.LostWrite][0]
		if w.Values[0] != victim.Send.Value || !slices.Contains(w.Ops, victim.Index) {
			t.Fatalf("witness %+v does not name send %s (op %d)", w, victim.Send.Value, victim.Index)
		}
	})

	t.Run("duplicate: value again at a new offset", func(t *testing.T) {
		m := appendPoll(clone(h), 1<<20, history.PartitionRead{Topic: "queue", Partition: 0,
			Records: []history.Record{{Offset: final[0], Key: victim.Send.Key, Value: victim.Send.Value}}})
		v := expect(t, m, map[string]int{checker.Duplicate: 1})
		w := v.Anomalies[checker.Duplicate][0]
		if w.Values[0] != victim.Send.Value || len(w.Positions) != 2 || w.Positions[1].Offset != final[0] {
			t.Fatalf("witness %+v does not name %s at offsets %d and %d", w, victim.Send.Value, victim.Send.Offset, final[0])
		}
	})

	// A second send of the victim's partition.
	var other *history.Op
	for _, s := range sends {
		if s.Send.Partition == 0 && s.Send.Offset == victim.Send.Offset+1 {
			other = s
		}
	}
	if other == nil {
		t.Fatal("no acked send after the victim")
	}

	t.Run("lost: two records swapped in the log", func(t *testing.T) {
		m := clone(h)
		eachRecord(m, func(_ *history.Op, pr *history.PartitionRead, r *history.Record) {
			switch r.Value {
			case victim.Send.Value:
				r.Value = other.Send.Value
			case other.Send.Value:
				r.Value = victim.Send.Value
			}
		})
		v := expect(t, m, map[string]int{checker.LostWrite: 2})
		for i, s := range []*history.Op{victim, other} {
			if w := v.Anomalies[checker.LostWrite][i]; w.Values[0] != s.Send.Value || !slices.Contains(w.Ops, s.Index) {
				t.Fatalf("witness %+v does not name send %s (op %d)", w, s.Send.Value, s.Index)
			}
		}
	})

	t.Run("inconsistent: one consumer sees another value", func(t *testing.T) {
		m := clone(h)
		changed := false
		eachRecord(m, func(op *history.Op, pr *history.PartitionRead, r *history.Record) {
			if !changed && op.Process != queue.FinalProcess && r.Value == victim.Send.Value {
				r.Value, changed = other.Send.Value, true
			}
		})
		if !changed {
			t.Skip("no consumer read the victim")
		}
		v := expect(t, m, map[string]int{checker.InconsistentOffsets: 1, checker.Duplicate: 1})
		w := v.Anomalies[checker.InconsistentOffsets][0]
		if w.Positions[0].Offset != victim.Send.Offset || !slices.Equal(w.Values, []string{victim.Send.Value, other.Send.Value}) &&
			!slices.Equal(w.Values, []string{other.Send.Value, victim.Send.Value}) {
			t.Fatalf("witness %+v does not name offset %d with %s and %s", w, victim.Send.Offset, victim.Send.Value, other.Send.Value)
		}
	})

	t.Run("aborted read: a read send reported failed", func(t *testing.T) {
		m := clone(h)
		m[victim.Index].Type, m[victim.Index].Error = history.Fail, "MESSAGE_TOO_LARGE"
		v := expect(t, m, map[string]int{checker.AbortedRead: 1})
		if w := v.Anomalies[checker.AbortedRead][0]; !slices.Contains(w.Ops, victim.Index) {
			t.Fatalf("witness %+v does not name op %d", w, victim.Index)
		}
	})

	// A consumer poll (not the final reader's) with three records of one
	// partition whose middle one the final reader read too.
	var pollIdx int64 = -1
	var prIdx int
	for i := range h {
		if pollIdx >= 0 || h[i].Poll == nil || h[i].Process == queue.FinalProcess {
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

	t.Run("poll skip: a consumer jumps over a record", func(t *testing.T) {
		m := clone(h)
		pr := &m[pollIdx].Poll.Reads[prIdx]
		skipped := pr.Records[1]
		pr.Records = slices.Delete(pr.Records, 1, 2)
		v := expect(t, m, map[string]int{checker.PollSkip: 1})
		if w := v.Anomalies[checker.PollSkip][0]; w.Positions[1].Offset != skipped.Offset || !slices.Contains(w.Ops, pollIdx) {
			t.Fatalf("witness %+v does not name offset %d of op %d", w, skipped.Offset, pollIdx)
		}
	})

	t.Run("nonmonotonic: a consumer reads backwards", func(t *testing.T) {
		m := clone(h)
		rs := m[pollIdx].Poll.Reads[prIdx].Records
		rs[0], rs[1] = rs[1], rs[0]
		v := checker.Check(m, checker.Opts{})
		t.Log(v.Summary())
		if v.Valid || v.Counts[checker.NonmonotonicPoll] != 1 || v.Counts[checker.LostWrite]+v.Counts[checker.Duplicate]+v.Counts[checker.InconsistentOffsets] != 0 {
			t.Fatalf("want one nonmonotonic-poll and no data anomaly:\n%s", v.Summary())
		}
		if w := v.Anomalies[checker.NonmonotonicPoll][0]; w.Positions[0].Offset != rs[0].Offset || w.Positions[1].Offset != rs[1].Offset {
			t.Fatalf("witness %+v does not name offsets %d then %d", w, rs[0].Offset, rs[1].Offset)
		}
	})
}
