package checker

import "fmt"

// unfencedInstances finds a commit the coordinator accepted from a static
// member (KIP-345: a group.instance.id) under a member id its instance no
// longer had: before the commit began, a member id of the instance newer
// than the commit's had reported an assignment. An instance that joins
// again under a new member id fences the old one, in both group
// protocols: the old id's joins, heartbeats and commits are refused
// (FENCED_INSTANCE_ID, or UNKNOWN_MEMBER_ID once it is gone), so a process
// the orchestrator believed dead and replaced cannot move the group's
// offsets.
//
// Which of two member ids is the newer is not the order of their first
// assignment reports: a client that joins again under a new id (a static
// member the coordinator no longer knew, answered UNKNOWN_MEMBER_ID)
// commits under it before its callbacks report the new assignment (kgo
// holds them while the member's batch blocks rebalances), after its old
// id's report (seed 40055: process 12's commit as its new id, taken for a
// commit of a replaced id). A member id X is known to be older than Y
// only when the history shows it (olderID): one client's ids follow each
// other (X named by its ops before Y first was), and an id an earlier
// incarnation used before a later incarnation's client was made is older
// than every id of that client. Anything else is left unjudged.
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
	ids := staticMemberIDs(g, byProcess)
	var out []Witness
	for _, k := range g.keys {
		for _, c := range g.commits[k] {
			m := byProcess[c.process]
			if m == nil || !c.accepted() || c.member == "" {
				continue
			}
			inst := instanceKey{m.group, m.instance}
			x, ok := ids.named[inst][c.member]
			if !ok {
				continue
			}
			h := ids.newerHolder(inst, c.member, x, c.invoke)
			if h == nil {
				continue
			}
			out = append(out, Witness{
				Positions: []Position{k.tp.at(c.off.Offset)},
				Ops:       uniqueSorted([]int64{x.at, h.op, c.op}),
				Detail: fmt.Sprintf("group %s instance %s: process %d's commit of %s as member %s (op %d) was accepted after member %s of the same instance (process %d), newer than it (%s was in use at op %d), had been given partitions (op %d)",
					k.group, m.instance, c.process, k.tp.at(c.off.Offset), c.member, c.op, h.member, h.by.process, c.member, x.at, h.op),
			})
		}
	}
	return finding{witnesses: out}
}

// instanceKey is a static member: a group and a group.instance.id.
type instanceKey struct{ group, instance string }

// idNaming is the first op that named a member id: its index, and the
// incarnation whose op it was.
type idNaming struct {
	at int64
	by *memberRec
}

// idHolder is a member id's first report of an assignment (its
// completion): the coordinator had taken the id as its instance's by then.
type idHolder struct {
	member string
	op     int64
	by     *memberRec
	gen    int32
}

// staticIDs is every member id of the history's static members.
type staticIDs struct {
	// named: per instance, each member id's first naming (an assignment
	// op's invoke, any event, or a commit's invoke).
	named map[instanceKey]map[string]idNaming
	// holders: per instance, each member id's first assignment report,
	// in history order.
	holders map[instanceKey][]idHolder
	// events: per instance, every assignment report of its member ids,
	// in history order.
	events map[instanceKey][]eventRec
}

// staticMemberIDs indexes the member ids of static members (byProcess: the
// incarnation of each static member process).
func staticMemberIDs(g *groupIndex, byProcess map[int]*memberRec) staticIDs {
	s := staticIDs{named: map[instanceKey]map[string]idNaming{}, holders: map[instanceKey][]idHolder{}, events: map[instanceKey][]eventRec{}}
	name := func(m *memberRec, id string, at int64) {
		k := instanceKey{m.group, m.instance}
		if s.named[k] == nil {
			s.named[k] = map[string]idNaming{}
		}
		if n, ok := s.named[k][id]; !ok || at < n.at {
			s.named[k][id] = idNaming{at, m}
		}
	}
	for _, e := range g.events {
		if e.m.instance == "" || e.a.Member == "" {
			continue
		}
		name(e.m, e.a.Member, e.invoke)
	}
	for _, k := range g.keys {
		for _, c := range g.commits[k] {
			if m := byProcess[c.process]; m != nil && c.member != "" && m.group == k.group {
				name(m, c.member, c.invoke)
			}
		}
	}
	// A later report of a member id already seen is no take-over: a
	// client may report late (its callback waits for its poll loop).
	reported := map[instanceKey]map[string]bool{}
	for _, e := range g.events {
		if e.m.instance == "" || e.a.Member == "" {
			continue
		}
		k := instanceKey{e.m.group, e.m.instance}
		s.events[k] = append(s.events[k], e)
		if e.a.Event != "assigned" {
			continue
		}
		if reported[k] == nil {
			reported[k] = map[string]bool{}
		}
		if reported[k][e.a.Member] {
			continue
		}
		reported[k][e.a.Member] = true
		s.holders[k] = append(s.holders[k], idHolder{e.a.Member, e.op, e.m, e.a.Generation})
	}
	return s
}

// newerHolder returns a member id of instance k that the history shows to
// be newer than id (first named as x) and that had reported an
// assignment before index before; nil if none.
func (s staticIDs) newerHolder(k instanceKey, id string, x idNaming, before int64) *idHolder {
	for i, h := range s.holders[k] {
		if h.op >= before {
			break
		}
		if h.member == id {
			continue
		}
		if y, ok := s.named[k][h.member]; ok && olderID(x, y) && !s.retaken(k, id, &s.holders[k][i], before) {
			return &s.holders[k][i]
		}
	}
	return nil
}

// retaken reports whether member id took its instance back from the newer
// holder h before index before: h reported owning nothing (it left, as a
// static member of the consumer protocol may with member epoch -2, or
// lost its partitions), and after that id reported an assignment of a
// later generation than h's first. KIP-848 lets a static member's
// instance be taken by the next member to join once its holder left
// (Kafka's UNRELEASED_INSTANCE_ID refuses it only while the holder is
// there), and an older incarnation still running (a process the
// orchestrator replaced but that went on) is that next member: its
// commits under the assignment it got then are the instance's (seed
// 62065: the zombie's client joined again after its replacement left).
func (s staticIDs) retaken(k instanceKey, id string, h *idHolder, before int64) bool {
	gaveUp := int64(-1)
	for _, e := range s.events[k] {
		switch {
		case e.op >= before:
			return false
		case e.op <= h.op:
		case e.a.Member == h.member && len(e.a.Owned) == 0 && e.a.Event != "assigned":
			gaveUp = e.op
		case gaveUp >= 0 && e.a.Member == id && e.a.Event == "assigned" && e.a.Generation > h.gen:
			return true
		}
	}
	return false
}

// olderID reports whether the history shows that the member id first
// named as x was given before the one first named as y: both are one
// client's and x was named first (a client takes a new id only by joining
// again, after the one it had), or x was named before y's client was made
// (y's incarnation joined).
func olderID(x, y idNaming) bool {
	if x.by == y.by {
		return x.at < y.at
	}
	return x.at < y.by.join
}
