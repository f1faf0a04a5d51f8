package checker

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/weir-dev/weir/history"
)

type checkCase struct {
	name  string
	build func(b *hb)
	want  map[string]int // anomaly -> witnesses
	// detail must appear in the first witness of each anomaly named.
	detail  map[string]string
	opts    Opts
	outcome Outcome // default: Valid if want is empty, else Invalid
	unknown []UnknownReason
}

// run builds c's history, checks it and compares.
func (c checkCase) run(t *testing.T) Verdict {
	t.Helper()
	var b hb
	c.build(&b)
	if err := history.Validate(b.ops); err != nil {
		t.Fatalf("test history: %v", err)
	}
	v := Check(b.ops, c.opts)
	want := c.outcome
	if want == "" {
		want = Valid
		if len(c.want) > 0 {
			want = Invalid
		}
	}
	if v.Outcome != want {
		t.Errorf("outcome %s, want %s\n%s", v.Outcome, want, v.Summary())
	}
	got := map[string]int{}
	maps.Copy(got, v.Counts)
	if c.want == nil {
		c.want = map[string]int{}
	}
	if !maps.Equal(got, c.want) {
		t.Errorf("counts %v, want %v\n%s", got, c.want, v.Summary())
	}
	for name, d := range c.detail {
		if ws := v.Anomalies[name]; len(ws) == 0 || !strings.Contains(ws[0].Detail, d) {
			t.Errorf("%s: witness %+v does not say %q", name, ws, d)
		}
	}
	for _, r := range c.unknown {
		if !v.UnknownBecause(r) {
			t.Errorf("not unknown because of %s:\n%s", r, v.Summary())
		}
	}
	if len(c.unknown) == 0 && len(v.Unjudged) > 0 {
		t.Errorf("unexpected unjudged parts:\n%s", v.Summary())
	}
	for name, ws := range v.Anomalies {
		for _, w := range ws {
			if len(w.Times) != len(w.Ops) || len(w.Ops) == 0 || w.Detail == "" {
				t.Errorf("%s: witness without ops, times or detail: %+v", name, w)
			}
		}
	}
	return v
}

// ordered sends a@0, b@1, c@2 of process 0 to partition 0.
func ordered(b *hb) {
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.OK, 0, 1)
	b.send(0, "c", history.OK, 0, 2)
}

var abc = []rd{{0, 0, "a"}, {0, 1, "b"}, {0, 2, "c"}}

func TestCheckClean(t *testing.T) {
	for _, c := range []checkCase{
		{name: "acked sends read in order", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 1)
			b.send(1, "c", history.OK, 1, 0)
			b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{1, 0, "c"})
			b.pollH(3, map[int32]int64{0: 2}, rd{0, 0, "a"})
			b.poll(3, rd{0, 1, "b"})
			b.final([]int64{2, 1}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{1, 0, "c"})
		}},
		{name: "pipelined sends of one client complete out of order", build: func(b *hb) {
			b.invokeSend(0, 1, "a")
			b.invokeSend(1, 1, "b")
			b.completeSend(1, 1, "b", history.OK, 0, 1)
			b.completeSend(0, 1, "a", history.OK, 0, 0)
			b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "b"})
		}},
		{name: "concurrent sends of two clients in any order", build: func(b *hb) {
			b.invokeSend(0, 1, "a")
			b.invokeSend(1, 2, "b")
			b.completeSend(1, 2, "b", history.OK, 0, 0)
			b.completeSend(0, 1, "a", history.OK, 0, 1)
			b.final([]int64{2}, rd{0, 0, "b"}, rd{0, 1, "a"})
		}},
		{name: "info and open sends may appear or not", build: func(b *hb) {
			b.send(0, "a", history.Info, 0, 0)
			b.send(1, "b", history.Info, 0, 0)
			b.send(4, "d", history.OK, 0, 1)
			b.poll(2, rd{0, 0, "a"}, rd{0, 1, "d"})
			b.invokeSend(3, 4, "c")
			b.final([]int64{3}, rd{0, 0, "a"}, rd{0, 1, "d"}, rd{0, 2, "c"})
		}},
		{name: "failed send never read", build: func(b *hb) {
			b.send(0, "a", history.Fail, 0, 0)
			b.send(0, "b", history.OK, 0, 0)
			b.final([]int64{1}, rd{0, 0, "b"})
		}},
		{name: "gaps nobody read into are not skips", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 2)
			b.poll(2, rd{0, 0, "a"}, rd{0, 2, "b"})
			b.final([]int64{3}, rd{0, 0, "a"}, rd{0, 2, "b"})
		}},
		{name: "reassign reads from the start again", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 1)
			b.assign(2, 0)
			b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"})
			b.assign(2, 0)
			b.pollH(2, map[int32]int64{0: 2}, rd{0, 0, "a"})
			b.poll(2, rd{0, 1, "b"})
			b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "b"})
		}},
		{name: "a poll answered before a later ack may show the older log", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.assign(2, 0)
			b.invokeSend(0, 1, "b")
			b.pollH(2, map[int32]int64{0: 1}, rd{0, 0, "a"})
			b.completeSend(0, 1, "b", history.OK, 0, 1)
			b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "b"})
		}},
		{name: "int-send-skip allowed", opts: Opts{Allowed: []string{IntSendSkip}}, want: map[string]int{IntSendSkip: 1}, outcome: Valid,
			build: func(b *hb) {
				b.invokeSend(5, 6, "b")
				b.txn(0, rd{0, 0, "a"}, rd{0, 2, "c"})
				b.completeSend(5, 6, "b", history.OK, 0, 1)
				b.final([]int64{3}, abc...)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.run(t)
			for _, r := range v.Checks {
				want := StatusClean
				switch {
				case r.Name == PrecommittedRead || r.Name == TornTransaction || r.Name == AbortedOffsetCommit || r.Name == CompactionLostKey || slices.Contains(GroupAnomalies(), r.Name):
					want = StatusNotChecked
				case v.Counts[r.Name] > 0:
					want = StatusFound
				}
				if r.Status != want {
					t.Errorf("%s: status %s, want %s", r.Name, r.Status, want)
				}
			}
		})
	}
}

func TestCheckFinds(t *testing.T) {
	for _, c := range []checkCase{
		{name: "lost: never read, a later offset read, no final read", outcome: Invalid, unknown: []UnknownReason{FinalReadIncomplete},
			want:   map[string]int{LostWrite: 1, Unseen: 1, IntPollSkip: 1, Nonlinearizable: 1},
			detail: map[string]string{LostWrite: "send b (op 3) acknowledged at t/0@1: never read; op 7 read the later offset 2"},
			build: func(b *hb) {
				ordered(b)
				b.poll(2, rd{0, 0, "a"}, rd{0, 2, "c"})
			}},
		{name: "lost: beyond the final high watermark",
			want:   map[string]int{LostWrite: 1, Unseen: 1, Nonlinearizable: 1},
			detail: map[string]string{LostWrite: "the final high watermark is 1", Nonlinearizable: "can only take effect after"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.final([]int64{1}, rd{0, 0, "a"})
			}},
		{name: "lost: the complete final read missed it",
			want:   map[string]int{LostWrite: 1, Unseen: 1, IntPollSkip: 1, Nonlinearizable: 1},
			detail: map[string]string{LostWrite: "the complete final read of [0, 3)", Nonlinearizable: "offset 1 missing"},
			build: func(b *hb) {
				ordered(b)
				b.final([]int64{3}, rd{0, 0, "a"}, rd{0, 2, "c"})
			}},
		{name: "lost: read, then gone from the final read",
			want:   map[string]int{LostWrite: 1, Nonlinearizable: 1, WatermarkRegression: 2},
			detail: map[string]string{LostWrite: "had read it there"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.poll(1, rd{0, 0, "a"})
				b.final([]int64{0})
			}},
		{name: "lost: its offset holds another value",
			want:   map[string]int{LostWrite: 1, Unseen: 1, InconsistentOffsets: 1, Nonlinearizable: 1},
			detail: map[string]string{LostWrite: "read x there", InconsistentOffsets: "t/0@0 holds 2 values: a (op 1), x (op 8)", Nonlinearizable: "two records at offset 0"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(1, "x", history.Info, 0, 0)
				b.final([]int64{1}, rd{0, 0, "x"})
			}},
		{name: "lost: allowed", opts: Opts{Allowed: []string{LostWrite, Nonlinearizable}}, outcome: Valid,
			want: map[string]int{LostWrite: 1, Unseen: 1, Nonlinearizable: 1},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.final([]int64{0})
			}},
		{name: "lost: witnesses capped", opts: Opts{MaxWitnesses: 1},
			want: map[string]int{LostWrite: 3, Unseen: 3, Nonlinearizable: 1},
			build: func(b *hb) {
				ordered(b)
				b.final([]int64{0})
			}},
		{name: "unseen, final read incomplete", outcome: Unknown, unknown: []UnknownReason{FinalReadIncomplete},
			want:   map[string]int{Unseen: 1},
			detail: map[string]string{Unseen: "the final read did not finish this partition"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.final([]int64{2}, rd{0, 0, "a"})
			}},
		{name: "duplicate",
			want:   map[string]int{Duplicate: 1},
			detail: map[string]string{Duplicate: "value a at 2 positions: t/0@0 (op 1), t/0@2 (op 3)"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.pollH(2, map[int32]int64{0: 3}, rd{0, 2, "a"})
				b.final([]int64{3}, rd{0, 0, "a"}, rd{0, 2, "a"})
			}},
		{name: "inconsistent offsets", outcome: Invalid, unknown: []UnknownReason{FinalReadIncomplete},
			want:   map[string]int{InconsistentOffsets: 1, Nonlinearizable: 1},
			detail: map[string]string{InconsistentOffsets: "t/1@4 holds 2 values: a (op 5), b (op 7)"},
			build: func(b *hb) {
				b.send(0, "a", history.Info, 0, 0)
				b.send(1, "b", history.Info, 0, 0)
				b.poll(2, rd{1, 4, "a"})
				b.poll(3, rd{1, 4, "b"})
			}},
		{name: "nonmonotonic send: acknowledged below an earlier send",
			want:   map[string]int{NonmonotonicSend: 1, Nonlinearizable: 1},
			detail: map[string]string{NonmonotonicSend: "client 1 sent a (invoked op 0) before b (invoked op 2) to t/0, but they were acknowledged at offsets 1 and 0"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 1)
				b.send(0, "b", history.OK, 0, 0)
				b.final([]int64{2}, rd{0, 0, "b"}, rd{0, 1, "a"})
			}},
		{name: "nonmonotonic send: pipelined sends of one client",
			want: map[string]int{NonmonotonicSend: 1},
			build: func(b *hb) {
				b.invokeSend(0, 1, "a")
				b.invokeSend(1, 1, "b")
				b.completeSend(0, 1, "a", history.OK, 0, 1)
				b.completeSend(1, 1, "b", history.OK, 0, 0)
				b.final([]int64{2}, rd{0, 0, "b"}, rd{0, 1, "a"})
			}},
		{name: "nonmonotonic poll",
			want:   map[string]int{NonmonotonicPoll: 1},
			detail: map[string]string{NonmonotonicPoll: "process 2 read t/0@1 (op 5) then t/0@0 (op 7)"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"})
				b.pollH(2, map[int32]int64{0: 2}, rd{0, 0, "a"})
				b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "b"})
			}},
		{name: "poll skip",
			want:   map[string]int{PollSkip: 1},
			detail: map[string]string{PollSkip: "process 3 read t/0@0 (op 7) then t/0@2 (op 9), skipping t/0@1=b that op 3 shows"},
			build: func(b *hb) {
				ordered(b)
				b.pollH(3, map[int32]int64{0: 3}, rd{0, 0, "a"})
				b.pollH(3, map[int32]int64{0: 3}, rd{0, 2, "c"})
				b.final([]int64{3}, abc...)
			}},
		{name: "int poll skip",
			want:   map[string]int{IntPollSkip: 1, Nonlinearizable: 1},
			detail: map[string]string{IntPollSkip: "process 3 read t/0@0 (op 7) then t/0@2 (op 7), skipping t/0@1=b"},
			build: func(b *hb) {
				ordered(b)
				b.poll(3, rd{0, 0, "a"}, rd{0, 2, "c"})
				b.final([]int64{3}, abc...)
			}},
		{name: "int nonmonotonic poll",
			want:   map[string]int{IntNonmonotonicPoll: 1, Nonlinearizable: 1},
			detail: map[string]string{IntNonmonotonicPoll: "process 3 read t/0@1 (op 7) then t/0@0 in the same op", Nonlinearizable: "offset 0 after 1"},
			build: func(b *hb) {
				ordered(b)
				b.pollH(3, map[int32]int64{0: 3}, rd{0, 1, "b"}, rd{0, 0, "a"})
				b.final([]int64{3}, abc...)
			}},
		{name: "int send skip",
			want:   map[string]int{IntSendSkip: 1},
			detail: map[string]string{IntSendSkip: "op 2 sent a then c, acknowledged at t/0@0 and t/0@2, with t/0@1=b between"},
			build: func(b *hb) {
				b.invokeSend(5, 6, "b")
				b.txn(0, rd{0, 0, "a"}, rd{0, 2, "c"})
				b.completeSend(5, 6, "b", history.OK, 0, 1)
				b.final([]int64{3}, abc...)
			}},
		{name: "int nonmonotonic send",
			want:   map[string]int{IntNonmonotonicSend: 1},
			detail: map[string]string{IntNonmonotonicSend: "op 1 sent a then b, but they were acknowledged at t/0@1 and t/0@0"},
			build: func(b *hb) {
				b.txn(0, rd{0, 1, "a"}, rd{0, 0, "b"})
				b.final([]int64{2}, rd{0, 0, "b"}, rd{0, 1, "a"})
			}},
		{name: "phantom: a value no send carried",
			want:   map[string]int{PhantomValue: 1},
			detail: map[string]string{PhantomValue: "op 6 read k=zzz at t/0@1, a value no send carried"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "zzz"})
			}},
		{name: "phantom: a value under another key",
			want:   map[string]int{PhantomValue: 1},
			detail: map[string]string{PhantomValue: `op 6 read a with key "k\x00" at t/0@0, but its send (op 1) carried key "k"`},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				i := b.final([]int64{1}, rd{0, 0, "a"})
				b.ops[i-1].Poll.Reads[0].Records[0].Key = "k\x00"
			}},
		{name: "watermark: one client's high watermark goes back",
			want:   map[string]int{WatermarkRegression: 1, Nonlinearizable: 1},
			detail: map[string]string{WatermarkRegression: "op 9 saw t/0 high watermark 2"},
			build: func(b *hb) {
				ordered(b)
				b.poll(1, abc...)
				b.pollH(1, map[int32]int64{0: 2})
				b.final([]int64{3}, abc...)
			}},
		{name: "watermark: in real time across clients",
			want:   map[string]int{WatermarkRegression: 1, Nonlinearizable: 1},
			detail: map[string]string{WatermarkRegression: "op 11 saw t/0 high watermark 2 (answered between 0.009s and 0.012s), but op 7 had seen 3 (by 0.008s)"},
			build: func(b *hb) {
				ordered(b)
				b.poll(1, abc...)
				b.assign(2, 0)
				b.pollH(2, map[int32]int64{0: 2})
				b.final([]int64{3}, abc...)
			}},
		{name: "watermark: log start goes back", outcome: Invalid, unknown: []UnknownReason{FinalReadIncomplete},
			want:   map[string]int{WatermarkRegression: 1},
			detail: map[string]string{WatermarkRegression: "log start 1"},
			build: func(b *hb) {
				i := b.pollH(1, map[int32]int64{0: 5})
				b.ops[i].Poll.Reads[0].LogStartOffset = 2
				i = b.pollH(1, map[int32]int64{0: 5})
				b.ops[i].Poll.Reads[0].LogStartOffset = 1
			}},
		{name: "aborted read",
			want:   map[string]int{AbortedRead: 1},
			detail: map[string]string{AbortedRead: "send a failed (op 1: err) but op 3 read it at t/0@0"},
			build: func(b *hb) {
				b.send(0, "a", history.Fail, 0, 0)
				b.poll(2, rd{0, 0, "a"})
				b.final([]int64{1}, rd{0, 0, "a"})
			}},
		{name: "nonlinearizable: stale read",
			want:   map[string]int{Nonlinearizable: 1},
			detail: map[string]string{Nonlinearizable: "op 1 (append a @0) completed at 0.002000s, but it can only take effect after op 5 (read hwm 0), answered no earlier than 0.003000s"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.assign(2, 0)
				b.pollH(2, map[int32]int64{0: 0})
				b.final([]int64{1}, rd{0, 0, "a"})
			}},
		{name: "nonlinearizable: a read before its send was invoked",
			want:   map[string]int{Nonlinearizable: 1},
			detail: map[string]string{Nonlinearizable: "op 1 (read 0..0(1) hwm 1) completed at 0.002000s, but it can only take effect after op 3 (append a @0), invoked at 0.003000s"},
			build: func(b *hb) {
				b.poll(2, rd{0, 0, "a"})
				b.send(0, "a", history.OK, 0, 0)
				b.final([]int64{1}, rd{0, 0, "a"})
			}},
		{name: "nonlinearizable: clients acknowledged out of real-time order",
			want:   map[string]int{Nonlinearizable: 1},
			detail: map[string]string{Nonlinearizable: "offset 1 cannot be appended before offset 0"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 1)
				b.send(1, "b", history.OK, 0, 0)
				b.final([]int64{2}, rd{0, 0, "b"}, rd{0, 1, "a"})
			}},
		{name: "nonlinearizable: a record at its own high watermark", outcome: Invalid, unknown: []UnknownReason{FinalReadIncomplete},
			want:   map[string]int{Nonlinearizable: 1},
			detail: map[string]string{Nonlinearizable: "record at offset 0 at or above its high watermark 0"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				i := b.poll(2, rd{0, 0, "a"})
				b.ops[i].Poll.Reads[0].HighWatermark = 0
			}},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func TestCheckUnknown(t *testing.T) {
	fine := func(b *hb) {
		ordered(b)
		b.poll(1, abc...)
		b.final([]int64{3}, abc...)
	}
	for _, c := range []checkCase{
		{name: "no final read", outcome: Unknown, unknown: []UnknownReason{FinalReadIncomplete},
			build: func(b *hb) { ordered(b); b.poll(1, abc...) }},
		{name: "a partition the final read did not list", outcome: Unknown, unknown: []UnknownReason{FinalReadIncomplete},
			build: func(b *hb) {
				ordered(b)
				i := b.final([]int64{3, 0}, abc...)
				b.ops[i].Final.Marks = b.ops[i].Final.Marks[:1]
				b.ops[i].Type = history.Info
			}},
		{name: "a final read never completed", outcome: Unknown, unknown: []UnknownReason{FinalReadIncomplete},
			build: func(b *hb) {
				ordered(b)
				b.final([]int64{3}, abc...)
				b.ops = b.ops[:len(b.ops)-1]
			}},
		{name: "linearizability out of steps", outcome: Unknown, unknown: []UnknownReason{CheckTimeout},
			opts: Opts{LinearizabilitySteps: 2}, build: fine},
		{name: "linearizability out of time", outcome: Unknown, unknown: []UnknownReason{CheckTimeout},
			opts: Opts{LinearizabilityTimeout: 1}, build: fine},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func TestVerdictJSONDeterministic(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.Fail, 0, 1)
	b.poll(2, rd{0, 1, "b"}, rd{0, 2, "a"})
	b.poll(3, rd{0, 1, "c"})
	b.poll(4, rd{0, 0, "a"})
	b.send(0, "d", history.OK, 1, 0)
	b.poll(4, rd{1, 1, "e"})
	b.final([]int64{3, 2}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "a"}, rd{1, 1, "e"})
	var first []byte
	for i := range 20 {
		v := Check(b.ops, Opts{})
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if !bytes.Equal(out, first) {
				t.Fatalf("verdict encoding differs between runs:\n%s\n%s", first, out)
			}
			continue
		}
		first = out
		for _, name := range []string{LostWrite, Duplicate, InconsistentOffsets, AbortedRead, PhantomValue} {
			if v.Counts[name] == 0 {
				t.Errorf("no %s in %s", name, v.Summary())
			}
		}
		s := string(out)
		if !(strings.Index(s, `"aborted-read"`) < strings.Index(s, `"duplicate"`) &&
			strings.Index(s, `"duplicate"`) < strings.Index(s, `"inconsistent-offsets"`)) {
			t.Errorf("anomaly keys not sorted: %s", s)
		}
		var back Verdict
		if err := json.Unmarshal(out, &back); err != nil || back.Outcome != Invalid || len(back.Anomalies[LostWrite]) != 1 {
			t.Errorf("decode verdict: %v %+v", err, back)
		}
	}
}

func TestSummarySays(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.OK, 0, 1)
	b.final([]int64{2}, rd{0, 0, "a"})
	s := Check(b.ops, Opts{Allowed: []string{Duplicate}}).Summary()
	for _, want := range []string{
		"UNKNOWN:", "unseen: 1 acknowledged sends were read by no poll",
		"unknown (final-read-incomplete, lost-write): t/0: the final read read it to 1 of its high watermark 2",
		"not checked: precommitted-read (this history has no transactional txn ops), torn-transaction (this history has no transactional txn ops)",
		"allowed by the configuration: duplicate",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary does not say %q:\n%s", want, s)
		}
	}
}
