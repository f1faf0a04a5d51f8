package group

import "github.com/twmb/franz-go/pkg/kmsg"

// The UnfencedStaticMember defect: a static member's member id that its
// instance's next incarnation replaced stays usable as the instance's.
// The ids are kept in memory only (a coordinator that loads the partition
// again forgets them), which is all the defect needs: the replaced
// incarnation's joins, syncs, heartbeats (both protocols') and commits go
// on succeeding next to the new one's, answered with its own member id.

// supersede notes, with the defect, that oldID was replaced by a newer
// incarnation of instance.
func (s *Shard) supersede(g *group, oldID, instance string) {
	if !s.cfg.Defects.UnfencedStaticMember {
		return
	}
	if g.superseded == nil {
		g.superseded = map[string]string{}
	}
	g.superseded[oldID] = instance
}

// aliasWaiter is the waiter of a JoinGroup that the defect took as the
// instance's current member's: its answer names the replaced id again, so
// the old incarnation goes on as itself.
type aliasWaiter struct {
	Waiter
	id string
}

// aliasJoin takes, with the defect, a JoinGroup from a replaced member id
// as the instance's current member's, and returns the waiter to answer.
func (s *Shard) aliasJoin(g *group, j *joinRequest, w Waiter) Waiter {
	if g == nil {
		return w
	}
	alias := s.staticAlias(g, j.memberID)
	if alias == j.memberID {
		return w
	}
	old := j.memberID
	j.memberID = alias
	return aliasWaiter{Waiter: w, id: old}
}

// unalias is the waiter and answer reply sends: an aliasWaiter's answer
// names the replaced id.
func unalias(w Waiter, resp kmsg.Response) (Waiter, kmsg.Response) {
	aw, ok := w.(aliasWaiter)
	if !ok {
		return w, resp
	}
	if r, ok := resp.(*kmsg.JoinGroupResponse); ok {
		r.MemberID = aw.id
	}
	return aw.Waiter, resp
}

// unaliased is the shell's waiter behind w.
func unaliased(w Waiter) Waiter {
	if aw, ok := w.(aliasWaiter); ok {
		return aw.Waiter
	}
	return w
}

// staticAlias is the member id a request naming memberID is taken as: the
// instance's current member id for a superseded one (the defect), else
// memberID itself.
func (s *Shard) staticAlias(g *group, memberID string) string {
	instance, ok := g.superseded[memberID]
	if !ok || !s.cfg.Defects.UnfencedStaticMember {
		return memberID
	}
	current := g.static[instance]
	if g.cg != nil {
		current = g.cg.static[instance]
	}
	if current == "" {
		return memberID
	}
	return current // DEFECT: the replaced incarnation passes for the new one
}
