package checker

import (
	"errors"
	"strings"
	"testing"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// ktxn records a transactional txn op by proc: sends (positions used when
// typ is ok or info and known), reads (its own polls), ending typ; commitAt
// is the op index whose time is the commit time (-1: never asked).
func (b *hb) ktxn(proc int, typ history.Type, commitAt int64, sends []rd, reads []rd) int64 {
	inv := &history.Txn{Transactional: true}
	done := &history.Txn{Transactional: true}
	for _, s := range sends {
		inv.Mops = append(inv.Mops, history.Mop{F: history.FnSend, Send: sendVal(proc+1, s.v, -1, -1)})
		done.Mops = append(done.Mops, history.Mop{F: history.FnSend, Send: sendVal(proc+1, s.v, s.p, s.o)})
	}
	if len(reads) > 0 {
		inv.Mops = append(inv.Mops, history.Mop{F: history.FnPoll})
		done.Mops = append(done.Mops, history.Mop{F: history.FnPoll, Poll: pollVal(nil, reads)})
	}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnTxn, Txn: inv})
	if commitAt >= 0 {
		done.CommitTime = (commitAt + 1) * 1_000_000
	}
	op := history.Op{Process: proc, Type: typ, F: history.FnTxn, Txn: done}
	if typ != history.OK {
		op.Error = "err"
	}
	return b.add(op)
}

// rcPoll records a read_committed assign of partition 0 and one poll of rs
// by proc.
func (b *hb) rcPoll(proc int, committed bool, rs ...rd) int64 {
	a := &history.Assign{Topic: "t", Partitions: []int32{0}, ReadCommitted: committed}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnAssign, Assign: a})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnAssign, Assign: a})
	return b.poll(proc, rs...)
}

func TestTransactionalAnomalies(t *testing.T) {
	ab := []rd{{0, 0, "a"}, {0, 1, "b"}}
	for _, c := range []checkCase{
		{name: "clean: committed, read after the commit",
			build: func(b *hb) {
				b.ktxn(0, history.OK, 1, ab, nil)
				b.rcPoll(5, true, ab...)
				b.final([]int64{2}, ab...)
			}},
		{name: "own write read inside the transaction", want: map[string]int{PrecommittedRead: 1},
			detail: map[string]string{PrecommittedRead: "read its own uncommitted write a"},
			build: func(b *hb) {
				b.ktxn(0, history.OK, 1, ab, []rd{{0, 0, "a"}})
				b.final([]int64{2}, ab...)
			}},
		{name: "read before the commit was asked", want: map[string]int{PrecommittedRead: 1},
			detail: map[string]string{PrecommittedRead: "asked to commit only at"},
			build: func(b *hb) {
				b.rcPoll(5, true, rd{0, 0, "x"}) // a phantom-free way to need a later commit: see below
				b.ops = b.ops[:0]
				// The reader's poll completes at op 3; the transaction asks to commit at op 5.
				inv := &history.Txn{Transactional: true, Mops: []history.Mop{{F: history.FnSend, Send: sendVal(1, "a", -1, -1)}}}
				b.add(history.Op{Process: 0, Type: history.Invoke, F: history.FnTxn, Txn: inv})
				b.rcPoll(5, true, rd{0, 0, "a"})
				done := &history.Txn{Transactional: true, CommitTime: 6_000_000, Mops: []history.Mop{{F: history.FnSend, Send: sendVal(1, "a", 0, 0)}}}
				b.add(history.Op{Process: 0, Type: history.OK, F: history.FnTxn, Txn: done})
				b.final([]int64{1}, rd{0, 0, "a"})
			}},
		{name: "read of a transaction that never asked to commit", want: map[string]int{PrecommittedRead: 1},
			detail:  map[string]string{PrecommittedRead: "ended info without asking to commit"},
			outcome: Invalid,
			build: func(b *hb) {
				b.ktxn(0, history.Info, -1, ab, nil)
				b.rcPoll(5, true, rd{0, 0, "a"})
				b.final([]int64{2}, ab...)
			}},
		{name: "a read_uncommitted reader may see an open transaction",
			build: func(b *hb) {
				b.ktxn(0, history.Info, -1, ab, nil)
				b.rcPoll(5, false, rd{0, 0, "a"})
				b.final([]int64{2}, ab...)
			}},
		{name: "aborted, read by read_committed", want: map[string]int{AbortedRead: 1},
			detail: map[string]string{AbortedRead: "was aborted"},
			build: func(b *hb) {
				b.ktxn(0, history.Fail, -1, ab, nil)
				b.rcPoll(5, true, rd{0, 0, "a"})
				b.final([]int64{2}, ab...)
			}},
		{name: "aborted, read by read_uncommitted",
			build: func(b *hb) {
				b.ktxn(0, history.Fail, -1, ab, nil)
				b.rcPoll(5, false, ab...)
				b.final([]int64{2}, ab...) // the builder's final reader reads read_uncommitted
			}},
		{name: "torn: committed, one send gone", want: map[string]int{TornTransaction: 1, LostWrite: 1, Unseen: 1},
			detail: map[string]string{TornTransaction: "lacks b (at t/0@1)"},
			build: func(b *hb) {
				b.ktxn(0, history.OK, 1, ab, nil)
				r := b.rcPoll(5, true, rd{0, 0, "a"})
				b.ops[r].Poll.Reads[0].HighWatermark = 2
				i := b.final([]int64{2}, rd{0, 0, "a"})
				// The final reader reached the end (a marker at 1, say) without b.
				b.ops[i].Type, b.ops[i].Final.Marks[0].ReadTo, b.ops[i].Final.Marks[0].Complete = history.OK, 2, true
			}},
		{name: "torn: unknown outcome, half visible", want: map[string]int{TornTransaction: 1},
			detail: map[string]string{TornTransaction: "lacks b"},
			build: func(b *hb) {
				b.ktxn(0, history.Info, 1, []rd{{0, 0, "a"}, {-1, -1, "b"}}, nil)
				b.rcPoll(5, true, rd{0, 0, "a"})
				b.final([]int64{1}, rd{0, 0, "a"})
			}},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func TestProperties(t *testing.T) {
	var b hb
	ordered(&b)
	b.final([]int64{3}, abc...)
	seen := 0
	prop := Property{Name: "my-property", Check: func(h []history.Op) Finding {
		seen = len(h)
		return Finding{Witnesses: []Witness{{Ops: []int64{1}, Detail: "op 1 did it"}}}
	}}
	v := Check(b.ops, Opts{Properties: []Property{prop}})
	if seen != len(b.ops) || v.Outcome != Invalid || v.Counts["my-property"] != 1 || v.Anomalies["my-property"][0].Times[0] != history.Seconds(b.ops[1].Time) {
		t.Fatalf("property not judged: %+v\n%s", v, v.Summary())
	}
	if !strings.Contains(v.Summary(), "my-property ×1, e.g. op 1 did it") {
		t.Errorf("summary:\n%s", v.Summary())
	}
	if v := Check(b.ops, Opts{Properties: []Property{prop}, Allowed: []string{"my-property"}}); v.Outcome != Valid {
		t.Errorf("allowed property: %s", v.Summary())
	}
	info := Property{Name: "note", Informational: true, Check: prop.Check}
	if v := Check(b.ops, Opts{Properties: []Property{info}}); v.Outcome != Valid {
		t.Errorf("informational property: %s", v.Summary())
	}
	stuck := Property{Name: "processing", Check: func([]history.Op) Finding {
		return Finding{Unjudged: []Unjudged{{Reason: ProcessingIncomplete, Check: "processing", Detail: "no barrier"}}}
	}}
	code, _, v := Judge(b.ops, Opts{Properties: []Property{stuck}}, nil)
	if code != runfolder.ExitLiveness || v.Outcome != Unknown {
		t.Errorf("processing incomplete: code %d\n%s", code, v.Summary())
	}
	none := Property{Name: "idle", Check: func([]history.Op) Finding { return Finding{NotChecked: "nothing to check"} }}
	if v := Check(b.ops, Opts{Properties: []Property{none}}); v.Outcome != Valid || !strings.Contains(v.Summary(), "idle (nothing to check)") {
		t.Errorf("not checked property: %s", v.Summary())
	}
}

func TestJudge(t *testing.T) {
	var b hb
	ordered(&b)
	b.final([]int64{3}, abc...)
	for _, c := range []struct {
		name     string
		h        []history.Op
		liveness error
		want     int
	}{
		{"valid", b.ops, nil, runfolder.ExitValid},
		{"liveness phase failed", b.ops, errors.New("no leader"), runfolder.ExitLiveness},
		{"no final read", b.ops[:6], nil, runfolder.ExitLiveness},
	} {
		code, summary, _ := Judge(c.h, Opts{}, c.liveness)
		if code != c.want {
			t.Errorf("%s: code %d, want %d\n%s", c.name, code, c.want, summary)
		}
		if c.liveness != nil && !strings.HasPrefix(summary, "LIVENESS: no leader") {
			t.Errorf("%s: summary %q", c.name, summary)
		}
	}
	code, _, _ := Judge(b.ops, Opts{LinearizabilitySteps: 2}, nil)
	if code != runfolder.ExitHarness {
		t.Errorf("out of steps: code %d", code)
	}
}
