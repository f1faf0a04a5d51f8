package checker

import "fmt"

// committedRedeliveries finds a member given a partition after a commit of
// it had been acknowledged that then read a record below the committed
// offset: a record committed by the group is never delivered to it again
// after the commit (its next owner starts at the committed offset).
// Members that held the partition since before the commit are not judged:
// a member fenced out of its generation may still read what it fetched.
func committedRedeliveries(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.events) == 0 {
		return finding{notChecked: noGroups}
	}
	var out []Witness
	for _, o := range ix.ownerships() {
		acked := g.acceptedBefore(o.k, o.start.invoke)
		if acked == nil {
			continue
		}
	parts:
		for _, pi := range o.parts {
			p := ix.parts[pi]
			for i := p.firstRead; i < p.firstRead+len(p.pr.Records); i++ {
				r := ix.reads[i]
				if r.pos.Offset >= acked.off.Offset {
					continue
				}
				out = append(out, Witness{
					Positions: []Position{r.pos, o.k.tp.at(acked.off.Offset)},
					Values:    []string{r.value},
					Ops:       uniqueSorted([]int64{acked.op, o.start.op, r.op}),
					Detail: fmt.Sprintf("group %s: process %d, given %s/%d (op %d, generation %d) after process %d's commit of %d was acknowledged (op %d), read %s=%s (op %d) again",
						o.k.group, o.m.process, o.k.tp.topic, o.k.tp.partition, o.start.op, o.start.a.Generation, acked.process, acked.off.Offset, acked.op, r.pos, r.value, r.op),
				})
				break parts
			}
		}
	}
	return finding{witnesses: out}
}
