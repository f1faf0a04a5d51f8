package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// AbortedOffsetCommit: a group's committed offset, as a read of the
// group's offsets (OffsetFetch) returned it, that only a transaction that
// aborted had committed (TxnOffsetCommit inside it).
const AbortedOffsetCommit = "aborted-offset-commit"

// txnOffsetRec is one consumer offset a transactional txn op committed
// inside its transaction (history.Txn.Offsets).
type txnOffsetRec struct {
	key    gtp
	off    history.GroupOffset
	op     int64 // the txn's completion
	invoke int64
	typ    history.Type
}

// sameCommit reports whether a and b are one committed offset: the same
// offset, leader epoch and metadata, which is all a read returns.
func sameCommit(a, b history.GroupOffset) bool {
	return a.Offset == b.Offset && a.LeaderEpoch == b.LeaderEpoch && a.Metadata == b.Metadata
}

// abortedOffsetCommits finds a read of a group's committed offsets that
// returned an offset committed inside a transaction that aborted (a failed
// transactional txn op whose TxnOffsetCommit was accepted), when nothing
// else that may have taken effect wrote that offset (with its leader
// epoch and metadata) before the read completed: no committed or unknown
// transaction, and no plain commit that may have applied. Kafka keeps a
// transaction's offsets pending until its marker: a commit marker makes
// them the group's, an abort marker discards them, so no OffsetFetch, and
// no member resuming from the committed offset, may ever see them.
//
// A transaction that never completed may have committed offsets the
// history does not know: when its invoke names the group, reads of that
// group are not judged against the offsets it might have written (the
// workloads put Group on the invoke). Only reads of the offsets are
// judged, not where members resumed (rebalance-skip judges that).
func abortedOffsetCommits(ix *index, _ *Opts) finding {
	byKey := map[gtp][]txnOffsetRec{}
	var aborted int
	wild := map[string]int64{} // group -> the earliest invoke of a never-completed txn naming it
	open := map[int]int64{}
	for i := range ix.h {
		op := &ix.h[i]
		if op.Txn == nil || !op.Txn.Transactional {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = int64(i)
			continue
		}
		delete(open, op.Process)
		for _, o := range op.Txn.Offsets {
			if o.Error != "" {
				continue // refused: never pending
			}
			k := gtp{op.Txn.Group, tp{o.Topic, o.Partition}}
			byKey[k] = append(byKey[k], txnOffsetRec{key: k, off: o, op: int64(i), invoke: ix.invokeOf[i], typ: op.Type})
			if op.Type == history.Fail {
				aborted++
			}
		}
	}
	for _, inv := range open {
		if g := ix.h[inv].Txn.Group; g != "" {
			if at, ok := wild[g]; !ok || inv < at {
				wild[g] = inv
			}
		}
	}
	if len(byKey) == 0 {
		return finding{notChecked: "no transaction committed consumer offsets"}
	}
	g := ix.groupView()
	if len(g.fetches) == 0 {
		return finding{notChecked: "no read of a group's committed offsets completed"}
	}
	var out []Witness
	for _, f := range g.fetches {
		if at, ok := wild[f.group]; ok && at < f.op {
			continue
		}
		for _, t := range sortedTPs(f.offs) {
			k := gtp{f.group, t}
			if w, bad := abortedOffsetRead(g, byKey[k], k, f); bad {
				out = append(out, w)
			}
		}
	}
	return finding{witnesses: out, note: fmt.Sprintf("%d offsets committed in aborted transactions", aborted)}
}

// abortedOffsetRead judges one partition of read f against the
// transactional commits recs of its group and partition.
func abortedOffsetRead(g *groupIndex, recs []txnOffsetRec, k gtp, f *fetchRec) (Witness, bool) {
	got := f.offs[k.tp]
	var culprit *txnOffsetRec
	for i := range recs {
		r := &recs[i]
		if !sameCommit(r.off, got) {
			continue
		}
		if r.typ != history.Fail {
			if r.invoke < f.op {
				return Witness{}, false // a transaction that may have committed it
			}
			continue
		}
		if culprit == nil {
			culprit = r
		}
	}
	if culprit == nil {
		return Witness{}, false
	}
	for _, c := range g.commits[k] {
		if c.mayApply() && sameCommit(c.off, got) && c.invoke < f.op {
			return Witness{}, false // a plain commit wrote it
		}
	}
	return Witness{
		Positions: []Position{k.tp.at(got.Offset)},
		Ops:       uniqueSorted([]int64{culprit.op, f.op}),
		Detail: fmt.Sprintf("group %s: the read of committed offsets (op %d) found %s with metadata %q, which only transaction op %d committed, and that transaction aborted",
			k.group, f.op, got.String(), got.Metadata, culprit.op),
	}, true
}
