package checker

import "fmt"

// rebalanceSkips finds a member given a partition whose first read of it
// began beyond the group's committed offset, jumping over an offset known
// to hold a record: a member resumes at the committed offset (the log
// start where none was committed), so no record is skipped across a
// rebalance. The committed offset is taken as high as it may have been:
// the highest offset any commit that may have been applied (accepted, or
// without an answer) asked for before the first read completed.
func rebalanceSkips(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.events) == 0 {
		return finding{notChecked: noGroups}
	}
	var out []Witness
	for _, o := range ix.ownerships() {
		if len(o.parts) == 0 {
			continue
		}
		p := ix.parts[o.parts[0]]
		first := ix.reads[p.firstRead]
		from, by := int64(0), int64(-1)
		if p.pr.LogStartOffset > 0 {
			from = p.pr.LogStartOffset
		}
		for _, c := range g.commits[o.k] {
			if c.mayApply() && c.invoke < p.op && c.off.Offset > from {
				from, by = c.off.Offset, c.op
			}
		}
		if first.pos.Offset <= from {
			continue
		}
		off, ok := ix.knownBetween(o.k.tp, from-1, first.pos.Offset)
		if !ok {
			continue
		}
		skipped := o.k.tp.at(off)
		val, shown := ix.knownValue(skipped)
		ops := []int64{o.start.op, p.op, shown}
		if by >= 0 {
			ops = append(ops, by)
		}
		committed := fmt.Sprintf("committed offset %d (op %d)", from, by)
		if by < 0 {
			committed = fmt.Sprintf("log start %d (nothing committed)", from)
		}
		out = append(out, Witness{
			Positions: []Position{o.k.tp.at(from), skipped, first.pos},
			Values:    []string{val, first.value},
			Ops:       uniqueSorted(ops),
			Detail: fmt.Sprintf("group %s: process %d, given %s/%d (op %d, generation %d), first read %s (op %d) past the %s, skipping %s=%s that op %d shows",
				o.k.group, o.m.process, o.k.tp.topic, o.k.tp.partition, o.start.op, o.start.a.Generation, first.pos, p.op, committed, skipped, val, shown),
		})
	}
	return finding{witnesses: out}
}
