package broker

import (
	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/internal/invariants"
)

// The group coordinator's invariant check (invariants builds only): every
// request a shard took is answered, now or once parked, exactly once
// (broker/group's invariant). The shell remembers each request it gave a
// serving shard until its answer comes; after every step, a request still
// owed that the shard neither parks nor holds for durability is one it
// dropped: it will never be answered, and its client waits for its
// request timeout.

// owe notes that the shard took w. Call with cs.mu held.
func (cs *coordShard) owe(w *waiter) {
	if !invariants.Enabled {
		return
	}
	if cs.owed == nil {
		cs.owed = map[*waiter]bool{}
	}
	cs.owed[w] = true
}

// paid forgets the requests answered by replies. Call with cs.mu held.
func (cs *coordShard) paid(replies []group.Reply) {
	if !invariants.Enabled || len(cs.owed) == 0 {
		return
	}
	for _, r := range replies {
		if w, ok := r.To.(*waiter); ok {
			delete(cs.owed, w)
		}
	}
}

// checkOwed reports every owed request the serving shard no longer holds.
// Call with cs.mu held, after a step's replies were delivered.
func (cs *coordShard) checkOwed() {
	if !invariants.Enabled || len(cs.owed) == 0 || cs.state != shardServing || cs.sm == nil {
		return
	}
	for w := range cs.owed {
		if !cs.sm.Holds(w) {
			delete(cs.owed, w)
			cs.gc.b.breach(invariants.UnansweredGroupRequest, "%s partition %d: the group coordinator dropped a request it had taken: it will never be answered", offsetsTopic, cs.index)
		}
	}
}
