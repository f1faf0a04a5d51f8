package checker

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/history"
)

// doubleAssignments finds two members of a group that own the same
// partition at once, each as its client reported it after an assignment,
// revoke or loss. Two witnesses, one per protocol's promise:
//
//   - Same generation (both protocols): a classic generation's assignment
//     gives every partition to one member at most, and a member revokes a
//     partition before another generation gives it to someone else. A
//     coordinator that reuses a generation number (one it lost in a
//     failover) shows here too. Two incarnations of one static member (the
//     same group.instance.id) are one member: the coordinator gives a
//     restarted static member the assignment of the incarnation before, in
//     the same generation, and fences that one (unfenced-instance judges
//     that).
//   - Overlap in time (the consumer protocol, KIP-848): a member's
//     generation is its member epoch, which is its own, so two owners of a
//     partition report it at different epochs whether or not the
//     coordinator waited for the first to release it (the first keeps its
//     epoch until it acknowledges the revocation; the next owner is at a
//     later epoch in both cases). What the coordinator promises is an
//     order: it gives a partition to its next owner only after the
//     previous owner's heartbeat no longer lists it, or after it removed
//     that owner from the group. See consumerOverlaps.
func doubleAssignments(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.events) == 0 {
		if len(g.members) == 0 {
			return finding{notChecked: noGroups}
		}
		return finding{notChecked: "no member reported an assignment"}
	}
	out := sameGenerationOwners(g)
	out = append(out, consumerOverlaps(g)...)
	return finding{witnesses: out}
}

// sameGenerationOwners is the first witness of doubleAssignments: two
// members reporting one partition in one generation.
func sameGenerationOwners(g *groupIndex) []Witness {
	type key struct {
		group string
		gen   int32
		tp    tp
	}
	first := map[key]eventRec{}
	reported := map[key][]string{} // members already witnessed beside the first
	var out []Witness
	for _, e := range g.events {
		if !inGroup(e) {
			continue
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
	return out
}

// inGroup: the event's client was in the group as it reported it.
func inGroup(e eventRec) bool { return e.a.Generation >= 0 && e.a.Member != "" }

// consumerOverlaps is the second witness of doubleAssignments: under the
// consumer protocol, member B reports a partition assigned while member A
// still owns it (A's last event before lists it), A's history then
// proves that the coordinator neither had its release nor had removed it,
// and the epochs show that B's assignment came after A's:
//
//  1. A's ownership ends with a revoke, not a loss. The client reports a
//     revoke in its callback before the heartbeat that stops listing the
//     partition (kgo sends bare keepalives until the callback returned),
//     so the coordinator had not had A's release when B learned of its
//     assignment, which was after the coordinator made it.
//
//  2. A's first event after the revoke that is a loss or moves to another
//     epoch is at a later epoch, as the same member id. A member keeps its
//     epoch while it owes a revocation, and the coordinator moves it on
//     only in answer to a heartbeat of a member it still has: A was never
//     removed (a removed member learns it from a fencing error, reports
//     its partitions lost, and joins again at epoch 0; an unknown member
//     id also takes a new id). So at B's assignment A still owned the
//     partition in the coordinator's eyes too.
//
//  3. B's epoch at its report is at least A's when A reported the
//     partition assigned (the event that began A's ownership): the
//     coordinator gave it to B after A, not before. It gives a member new
//     partitions only as it moves the member to the target assignment's
//     epoch (Kafka's CurrentAssignmentBuilder: a member that owes a
//     revocation keeps its epoch and gets nothing new), the target's
//     epoch only grows, and removing a member bumps the group epoch; so a
//     partition's successive owners get it at ever later epochs, a member
//     removed before the next owner got it never learns an epoch that
//     high, and one not removed reaches it only after revoking the
//     partition, which B reports after this event. A client reports an
//     assignment at the epoch it holds as its callback runs, never below
//     that of the answer that gave it. B at a lower epoch may instead
//     report late an assignment made before A's, after the coordinator had
//     removed it: seed 34052 (clickstream, static members, faults all) has
//     B's epoch-7 assignment reported 10 s late (BlockRebalanceOnPoll held
//     its callbacks while its transaction hung on a broker the network had
//     cut it off from), beside A's of epoch 9, and B's loss 38 ms later.
//
// What the history cannot show is not reported: an owner that revoked as
// it closed (no later epoch), or that was fenced while its revoke
// callback ran (a loss follows), may have been removed before the
// partition moved. A new owner at a lower epoch than the owner's
// assignment (condition 3) is judged the other way round: the owner's
// assignment came while the new owner, which learned of its own late,
// held the partition; it is a witness when conditions 1 and 2 hold for
// the late learner (it revoked, then moved on as the same member, so the
// coordinator had neither its release nor removed it when it gave the
// partition to the other, whose report came before that revoke).
func consumerOverlaps(g *groupIndex) []Witness {
	last := map[*memberRec]int{}       // each member's latest event so far (index in g.events)
	owners := map[gtp][]*memberRec{}   // the members whose latest event lists the partition
	byMember := map[*memberRec][]int{} // each member's events, in order
	pos := make([]int, len(g.events))  // an event's place in its member's list
	for i, e := range g.events {
		pos[i] = len(byMember[e.m])
		byMember[e.m] = append(byMember[e.m], i)
	}
	var out []Witness
	for i, e := range g.events {
		prev, had := last[e.m]
		last[e.m] = i
		if had {
			for _, p := range g.events[prev].a.Owned {
				k := gtp{e.m.group, tp{g.events[prev].a.Topic, p}}
				owners[k] = slices.DeleteFunc(owners[k], func(m *memberRec) bool { return m == e.m })
			}
		}
		if !inGroup(e) {
			continue
		}
		for _, p := range e.a.Owned {
			k := gtp{e.m.group, tp{e.a.Topic, p}}
			owners[k] = append(owners[k], e.m)
		}
		if !e.m.consumer || e.a.Event != history.Assigned {
			continue
		}
		for _, p := range e.a.Owned {
			if had && g.events[prev].a.Member == e.a.Member && slices.Contains(g.events[prev].a.Owned, p) {
				continue // B had it already
			}
			for _, a := range owners[gtp{e.m.group, tp{e.a.Topic, p}}] {
				held := g.events[last[a]]
				switch {
				case a == e.m || !a.consumer || held.a.Member == e.a.Member:
					continue
				case a.instance != "" && a.instance == e.m.instance:
					continue // a static member's incarnations
				}
				gained := g.events[gainedAt(g, byMember[a], pos[last[a]], p)]
				if e.a.Generation < gained.a.Generation {
					// Condition 3 fails: B learned late of an assignment
					// the coordinator made before A's. Judge the pair the
					// other way round: A got the partition while B, from
					// this event on, still owned it.
					if w, ok := unreleasedOverlap(g, byMember[e.m], pos[i], p, gained, e); ok {
						out = append(out, w)
					}
					continue
				}
				if w, ok := unreleasedOverlap(g, byMember[a], pos[last[a]], p, e, held); ok {
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// gainedAt is the event (index in g.events) at which owner A reported
// partition p assigned for the ownership that includes its event evs[at]:
// the first of its consecutive events, under the same member id, that
// list p.
func gainedAt(g *groupIndex, evs []int, at int, p int32) int {
	id := g.events[evs[at]].a.Member
	i := at
	for i > 0 {
		prev := g.events[evs[i-1]]
		if prev.a.Member != id || !slices.Contains(prev.a.Owned, p) {
			break
		}
		i--
	}
	return evs[i]
}

// unreleasedOverlap checks conditions 1 and 2 of consumerOverlaps for
// owner A (its events evs, the one before B's assignment at evs[at],
// held) and partition p assigned to B by b.
func unreleasedOverlap(g *groupIndex, evs []int, at int, p int32, b, held eventRec) (Witness, bool) {
	id := held.a.Member
	j := at + 1
	for ; j < len(evs); j++ {
		ev := g.events[evs[j]]
		if ev.a.Member != id {
			return Witness{}, false // joined again: the history does not say why
		}
		if !slices.Contains(ev.a.Owned, p) {
			break
		}
	}
	if j == len(evs) {
		return Witness{}, false
	}
	revoke := g.events[evs[j]]
	if revoke.a.Event != history.Revoked {
		return Witness{}, false
	}
	for j++; j < len(evs); j++ {
		ev := g.events[evs[j]]
		switch {
		case ev.a.Event == history.Lost || ev.a.Member != id:
			return Witness{}, false
		case ev.a.Generation > revoke.a.Generation:
			t := tp{b.a.Topic, p}
			return Witness{
				Positions: []Position{t.at(-1)},
				Ops:       uniqueSorted([]int64{held.op, b.op, revoke.op, ev.op}),
				Detail: fmt.Sprintf("group %s: %s/%d assigned to member %s (process %d, op %d, epoch %d) while member %s (process %d) still owned it (op %d, epoch %d): "+
					"that member revoked it only at op %d (epoch %d) and was then moved on to epoch %d (op %d), so the coordinator had neither its release nor removed it",
					b.m.group, t.topic, p, b.a.Member, b.m.process, b.op, b.a.Generation, id, held.m.process, held.op, held.a.Generation,
					revoke.op, revoke.a.Generation, ev.a.Generation, ev.op),
			}, true
		}
	}
	return Witness{}, false
}
