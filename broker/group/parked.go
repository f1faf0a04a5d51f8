package group

// Holds reports whether the shard still owes w an answer it has decided
// or will decide: w is parked in a member's JoinGroup or SyncGroup, or its
// answer waits for durability. A request given to the shard that it has
// not answered and does not hold is one it will never answer (the
// invariant "every parked request is answered exactly once"); the
// broker's invariant checks ask this of every request still waiting.
func (s *Shard) Holds(w Waiter) bool {
	for _, h := range s.held {
		if h.reply.To == w {
			return true
		}
	}
	for _, r := range s.replies {
		if r.To == w {
			return true
		}
	}
	for _, g := range s.groups {
		for _, m := range g.members {
			if unaliased(m.joinWaiter) == w || m.syncWaiter == w {
				return true
			}
		}
	}
	return false
}
