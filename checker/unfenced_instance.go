package checker

import "fmt"

// unfencedInstances finds a commit the coordinator accepted from a static
// member (KIP-345: a group.instance.id) under a member id its instance no
// longer had: before the commit began, another member id new to the
// instance had reported an assignment after this one first did. An
// instance that joins again under a new member id fences the old one, in
// both group protocols: the old incarnation's joins, heartbeats and
// commits are refused (FENCED_INSTANCE_ID, or UNKNOWN_MEMBER_ID once it is
// gone), so a process the orchestrator believed dead and replaced cannot
// move the group's offsets.
func unfencedInstances(ix *index, _ *Opts) finding {
	g := ix.groupView()
	if len(g.events) == 0 {
		return finding{notChecked: noGroups}
	}
	byProcess := map[int]*memberRec{}
	for _, m := range g.members {
		if m.instance != "" {
			byProcess[m.process] = m
		}
	}
	if len(byProcess) == 0 {
		return finding{notChecked: "no static members (group.instance.id) in the history"}
	}
	// holders: per group and instance, each member id that reported an
	// assignment, at its first report, in history order. A later report
	// of a member id already seen is no take-over: a client may report
	// late (its callback waits for its poll loop), and only a join under
	// a new member id replaces an instance's member.
	type holder struct {
		member string
		op     int64
		m      *memberRec
	}
	type instanceKey struct{ group, instance string }
	holders := map[instanceKey][]holder{}
	seen := map[instanceKey]map[string]bool{}
	for _, e := range g.events {
		if e.m.instance == "" || e.a.Member == "" || e.a.Event != "assigned" {
			continue
		}
		k := instanceKey{e.m.group, e.m.instance}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		if seen[k][e.a.Member] {
			continue
		}
		seen[k][e.a.Member] = true
		holders[k] = append(holders[k], holder{e.a.Member, e.op, e.m})
	}
	var out []Witness
	for _, k := range g.keys {
		for _, c := range g.commits[k] {
			m := byProcess[c.process]
			if m == nil || !c.accepted() || c.member == "" {
				continue
			}
			// The instance's holder when the commit began: the last
			// member id to report an assignment before it.
			var last *holder
			for i, h := range holders[instanceKey{m.group, m.instance}] {
				if h.op >= c.invoke {
					break
				}
				last = &holders[instanceKey{m.group, m.instance}][i]
			}
			if last == nil || last.member == c.member {
				continue
			}
			out = append(out, Witness{
				Positions: []Position{k.tp.at(c.off.Offset)},
				Ops:       uniqueSorted([]int64{last.op, c.op}),
				Detail: fmt.Sprintf("group %s instance %s: process %d's commit of %s as member %s (op %d) was accepted after member %s of the same instance (process %d) had been given partitions (op %d)",
					k.group, m.instance, c.process, k.tp.at(c.off.Offset), c.member, c.op, last.member, last.m.process, last.op),
			})
		}
	}
	return finding{witnesses: out}
}
