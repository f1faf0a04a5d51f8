package broker

import (
	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/internal/invariants"
)

// The group coordinator's invariant checks (invariants builds only).
//
// Answers wait for durability (broker/group's invariant): a step of a
// shard (a request, a timer) that releases answers must find every record
// the shard wrote, this step's included, below the partition's high
// watermark, since the shard holds answers while any record it wrote is
// not durable. Answers released later by the high watermark's progress
// (Shard.Durable) are not judged here: the shard held them for records
// written when they were decided, which the shell does not know.
//
// Every
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

// checkAnswersDurable reports a step's answers released while records of
// the shard's partition, this step's batch included, are not durable yet.
// Call with cs.mu held, before apply appends the step's batches.
func (cs *coordShard) checkAnswersDurable(out group.Output) {
	if !invariants.Enabled || len(out.Replies) == 0 {
		return
	}
	end := cs.p.EndOffset()
	if out.Batch != nil {
		end = max(end, out.Batch.BaseOffset+int64(len(out.Batch.Records)))
	}
	if out.TxnBatch != nil {
		end = max(end, out.TxnBatch.BaseOffset+out.TxnBatch.Len())
	}
	if hw := cs.p.HighWatermark(); hw < end {
		cs.gc.b.breach(invariants.UndurableGroupAnswer, "%s partition %d: the group coordinator released %d answers with its records durable to %d of %d",
			offsetsTopic, cs.index, len(out.Replies), hw, end)
	}
}
