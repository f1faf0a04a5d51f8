package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// lostCommits finds a read of a group's committed offsets (OffsetFetch,
// during the run or after the cluster healed) that misses a commit
// acknowledged before the read began: the partition has no offset, a lower
// one, or the same offset with another leader epoch or metadata than
// every commit of that offset. A lower offset some commit may have
// written after the acknowledged one (not accepted yet when it began, or
// with no answer) is left to nonmonotonic-commit. A coordinator failover
// must lose no acknowledged commit.
func lostCommits(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.fetches) == 0 {
		if len(g.members) == 0 {
			return finding{notChecked: noGroups}
		}
		return finding{notChecked: "no read of a group's committed offsets completed"}
	}
	var out []Witness
	for _, f := range g.fetches {
		for _, k := range g.keys {
			if k.group != f.group {
				continue
			}
			acked := g.acceptedBefore(k, f.invoke)
			if acked == nil {
				continue
			}
			got, ok := f.offs[k.tp]
			if !ok {
				got = history.GroupOffset{Topic: k.tp.topic, Partition: k.tp.partition, Offset: history.Unknown, LeaderEpoch: history.Unknown}
			}
			if w, bad := lostCommit(g, k, f, acked, got); bad {
				out = append(out, w)
			}
		}
	}
	return finding{witnesses: out}
}

func lostCommit(g *groupIndex, k gtp, f *fetchRec, acked *commitRec, got history.GroupOffset) (Witness, bool) {
	w := Witness{
		Positions: []Position{k.tp.at(acked.off.Offset), k.tp.at(got.Offset)},
		Ops:       uniqueSorted([]int64{acked.op, f.op}),
	}
	switch {
	case got.Offset < acked.off.Offset:
		for _, c := range g.commits[k] {
			if c.mayApply() && c.off.Offset == got.Offset && c.op > acked.invoke && c.invoke < f.op {
				return w, false // a later commit of that offset: nonmonotonic-commit's
			}
		}
		none := fmt.Sprintf("offset %d", got.Offset)
		if got.Offset == history.Unknown {
			none = "no offset"
		}
		w.Detail = fmt.Sprintf("group %s: the read of committed offsets (op %d) found %s where process %d's commit of %d (op %d) had been acknowledged before it began",
			k.group, f.op, none, acked.process, acked.off.Offset, acked.op)
		return w, true
	case got.Offset == acked.off.Offset:
		for _, c := range g.commits[k] {
			if c.mayApply() && c.off.Offset == got.Offset && c.off.LeaderEpoch == got.LeaderEpoch && c.off.Metadata == got.Metadata && c.invoke < f.op {
				return w, false
			}
		}
		w.Detail = fmt.Sprintf("group %s: the read of committed offsets (op %d) found %d with leader epoch %d and metadata %q; the acknowledged commit (op %d) of that offset had epoch %d and metadata %q",
			k.group, f.op, got.Offset, got.LeaderEpoch, got.Metadata, acked.op, acked.off.LeaderEpoch, acked.off.Metadata)
		return w, true
	}
	return w, false
}
