package group

// The UnfencedStaticMember defect: a static member's member id that its
// instance's next incarnation replaced stays usable as the instance's.
// The ids are kept in memory only (a coordinator that loads the partition
// again forgets them), which is all the defect needs: the replaced
// incarnation's heartbeats and commits go on succeeding next to the new
// one's.

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
