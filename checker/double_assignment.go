package checker

import (
	"fmt"
	"slices"
)

// doubleAssignments finds two members of a group that own the same
// partition in the same generation, each as its client reported after an
// assignment, revoke or loss: a generation's assignment gives every
// partition to one member at most, and a member revokes a partition before
// another generation gives it to someone else. A coordinator that reuses a
// generation number (one it lost in a failover) shows here too.
//
// Two incarnations of one static member (the same group.instance.id) are
// one member: the coordinator gives a restarted static member the
// assignment of the incarnation before, in the same generation, and
// fences that one (unfenced-instance judges that). With the consumer
// protocol (KIP-848) a member's generation is its member epoch: a
// partition's next owner reaches its epoch only once the previous owner
// released it, so two owners never report it at one epoch either.
func doubleAssignments(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.events) == 0 {
		if len(g.members) == 0 {
			return finding{notChecked: noGroups}
		}
		return finding{notChecked: "no member reported an assignment"}
	}
	type key struct {
		group string
		gen   int32
		tp    tp
	}
	first := map[key]eventRec{}
	reported := map[key][]string{} // members already witnessed beside the first
	var out []Witness
	for _, e := range g.events {
		if e.a.Generation < 0 || e.a.Member == "" {
			continue // not in the group as the client reported it
		}
		for _, p := range e.a.Owned {
			k := key{e.m.group, e.a.Generation, tp{e.a.Topic, p}}
			f, ok := first[k]
			if !ok {
				first[k] = e
				continue
			}
			if f.a.Member == e.a.Member || slices.Contains(reported[k], e.a.Member) {
				continue
			}
			if f.m.instance != "" && f.m.instance == e.m.instance {
				continue // a static member's incarnations
			}
			reported[k] = append(reported[k], e.a.Member)
			out = append(out, Witness{
				Positions: []Position{k.tp.at(-1)},
				Ops:       uniqueSorted([]int64{f.op, e.op}),
				Detail: fmt.Sprintf("group %s generation %d: %s/%d owned by member %s (process %d, op %d) and by member %s (process %d, op %d)",
					k.group, k.gen, k.tp.topic, p, f.a.Member, f.m.process, f.op, e.a.Member, e.m.process, e.op),
			})
		}
	}
	return finding{witnesses: out}
}
