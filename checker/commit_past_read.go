package checker

import "fmt"

// commitsPastRead finds a committed offset, accepted by the coordinator or
// read back from it, more than one past the highest offset of that
// partition the group's members had read by then: a group commits what it
// processed, so an offset beyond it skips records no member read.
func commitsPastRead(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.members) == 0 && len(g.commits) == 0 {
		return finding{notChecked: noGroups}
	}
	var out []Witness
	check := func(k gtp, offset, op int64, what string) {
		if offset <= 0 {
			return
		}
		hi, by := g.readTo(k, op)
		if offset <= hi+1 {
			return
		}
		ops := []int64{op}
		if by >= 0 {
			ops = append(ops, by)
		}
		out = append(out, Witness{
			Positions: []Position{k.tp.at(offset)},
			Ops:       uniqueSorted(ops),
			Detail:    fmt.Sprintf("group %s: %s (op %d) committed %s, but its members had read no further than offset %d", k.group, what, op, k.tp.at(offset), hi),
		})
	}
	for _, k := range g.keys {
		for _, c := range g.commits[k] {
			if c.accepted() {
				check(k, c.off.Offset, c.op, fmt.Sprintf("process %d's commit", c.process))
			}
		}
	}
	joined := map[string]bool{}
	for _, m := range g.members {
		joined[m.group] = true
	}
	for _, f := range g.fetches {
		if !joined[f.group] {
			continue // a group without members in the history (offsets committed by transactions of producers): nothing read to judge against
		}
		for _, t := range sortedTPs(f.offs) {
			check(gtp{f.group, t}, f.offs[t].Offset, f.op, "a read of the committed offsets")
		}
	}
	return finding{witnesses: out}
}
