package checker

import (
	"fmt"
	"slices"
)

// nonmonotonicCommits finds a commit the coordinator accepted for a group
// and partition at an offset below one it had accepted in a commit that
// completed before this one began: committed offsets never move backwards
// (the workload never resets a group's offsets, and only the owner of a
// partition in the current generation may commit it).
func nonmonotonicCommits(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.members) == 0 && len(g.commits) == 0 {
		return finding{notChecked: noGroups}
	}
	var out []Witness
	for _, k := range g.keys {
		cs := g.commits[k]
		var accepted []*commitRec
		for _, c := range cs {
			if c.accepted() {
				accepted = append(accepted, c)
			}
		}
		// Sweep in invoke order, with the accepted commits completed
		// before each invoke.
		done := slices.Clone(accepted)
		slices.SortStableFunc(done, func(a, b *commitRec) int { return int(a.op - b.op) })
		var best *commitRec
		j := 0
		for _, c := range accepted {
			for ; j < len(done) && done[j].op < c.invoke; j++ {
				if best == nil || done[j].off.Offset > best.off.Offset {
					best = done[j]
				}
			}
			if best == nil || c.off.Offset >= best.off.Offset {
				continue
			}
			out = append(out, Witness{
				Positions: []Position{k.tp.at(best.off.Offset), k.tp.at(c.off.Offset)},
				Ops:       uniqueSorted([]int64{best.op, c.op}),
				Detail: fmt.Sprintf("group %s: process %d's commit of %s (gen %d, op %d) was accepted after process %d's commit of %d (gen %d, op %d) had been",
					k.group, c.process, k.tp.at(c.off.Offset), c.gen, c.op, best.process, best.off.Offset, best.gen, best.op),
			})
		}
	}
	return finding{witnesses: out}
}
