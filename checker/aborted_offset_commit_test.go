package checker

import (
	"testing"

	"github.com/weir-dev/weir/history"
)

// otxn records a transactional txn op of proc sending ab's records and
// committing, inside the transaction, offset o of partition 0 for group
// "g" with metadata meta; it ends typ.
func (b *hb) otxn(proc int, typ history.Type, o int64, meta string, sends []rd) int64 {
	i := b.ktxn(proc, typ, 0, sends, nil)
	b.ops[i-1].Txn.Group = "g" // the invoke names the group
	t := b.ops[i].Txn
	t.Group = "g"
	t.Offsets = []history.GroupOffset{{Topic: "t", Partition: 0, Offset: o, LeaderEpoch: 0, Metadata: meta}}
	return i
}

// readOffsets records an ok read of group g's offsets finding partition 0
// at offset o with metadata meta.
func (b *hb) readOffsets(proc int, o int64, meta string) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnOffsets, Offsets: &history.Offsets{Group: "g"}})
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnOffsets, Offsets: &history.Offsets{Group: "g",
		Offsets: []history.GroupOffset{{Topic: "t", Partition: 0, Offset: o, LeaderEpoch: 0, Metadata: meta}}}})
}

func TestAbortedOffsetCommit(t *testing.T) {
	a, b2 := []rd{{0, 0, "a"}}, []rd{{0, 1, "b"}}
	both := []rd{{0, 0, "a"}, {0, 1, "b"}}
	for _, c := range []checkCase{
		{name: "clean: the committed transaction's offset is read, the aborted one's never",
			build: func(b *hb) {
				b.otxn(0, history.OK, 1, "t0", a)
				b.readOffsets(7, 1, "t0")
				b.otxn(1, history.Fail, 2, "t1", b2)
				b.readOffsets(7, 1, "t0")
				b.final([]int64{2}, both...)
			}},
		{name: "the aborted transaction's offset became the group's", want: map[string]int{AbortedOffsetCommit: 1},
			detail: map[string]string{AbortedOffsetCommit: `with metadata "t1", which only transaction op 3 committed, and that transaction aborted`},
			build: func(b *hb) {
				b.otxn(0, history.OK, 1, "t0", a)
				b.otxn(1, history.Fail, 2, "t1", b2)
				b.readOffsets(7, 2, "t1")
				b.final([]int64{2}, both...)
			}},
		{name: "the same offset committed again by a later transaction that committed",
			build: func(b *hb) {
				b.otxn(1, history.Fail, 2, "m", both)
				b.otxn(2, history.OK, 2, "m", []rd{{0, 2, "a2"}, {0, 3, "b2"}})
				b.readOffsets(7, 2, "m")
				b.final([]int64{4}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "a2"}, rd{0, 3, "b2"})
			}},
		{name: "read before the redo began: only the aborted one had written it", want: map[string]int{AbortedOffsetCommit: 1},
			build: func(b *hb) {
				b.otxn(1, history.Fail, 2, "m", both)
				b.readOffsets(7, 2, "m")
				b.otxn(2, history.OK, 2, "m", []rd{{0, 2, "a2"}, {0, 3, "b2"}})
				b.final([]int64{4}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "a2"}, rd{0, 3, "b2"})
			}},
		{name: "a transaction of unknown outcome may have committed it",
			build: func(b *hb) {
				b.otxn(1, history.Fail, 2, "m", both)
				b.otxn(2, history.Info, 2, "m", []rd{{0, 2, "a2"}, {0, 3, "b2"}})
				b.readOffsets(7, 2, "m")
				b.final([]int64{4}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "a2"}, rd{0, 3, "b2"})
			}},
		{name: "an offset the coordinator refused inside the aborted transaction is not pending",
			build: func(b *hb) {
				i := b.otxn(1, history.Fail, 2, "m", both)
				b.ops[i].Txn.Offsets[0].Error = "ILLEGAL_GENERATION"
				b.readOffsets(7, 2, "m")
				b.final([]int64{2}, both...)
			}},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

// TestAbortedOffsetCommitNotChecked: without transactional offsets, or
// without a read of them, the checker says it judged nothing.
func TestAbortedOffsetCommitNotChecked(t *testing.T) {
	var b hb
	b.ktxn(0, history.Fail, -1, []rd{{0, 0, "a"}}, nil)
	b.final([]int64{1})
	if r := Check(b.ops, Opts{}).Check(AbortedOffsetCommit); r.Status != StatusNotChecked {
		t.Errorf("no transactional offsets: %+v", r)
	}
	var c hb
	c.otxn(0, history.Fail, 1, "t0", []rd{{0, 0, "a"}})
	c.final([]int64{1})
	if r := Check(c.ops, Opts{}).Check(AbortedOffsetCommit); r.Status != StatusNotChecked || r.Note != "no read of a group's committed offsets completed" {
		t.Errorf("no read of the offsets: %+v", r)
	}
}
