package checker

import (
	"fmt"
)

// nonmonotonicSends finds, per producer client and partition, an
// acknowledged send invoked after another of the same client but
// acknowledged at a lower or equal offset. A client appends records to a
// partition in the order it is given them and an idempotent producer keeps
// that order through retries, so its offsets follow invoke order (Jepsen's
// nonmonotonic-send, there per process; here per client, which several
// processes may share). Sends of one op are int-nonmonotonic-send's.
func nonmonotonicSends(ix *index, _ *Opts) finding {
	var f finding
	type key struct {
		client int
		tp     tp
	}
	last := map[key]*sendRec{}
	for _, s := range ix.sendList { // invoke order
		if !s.acked() {
			continue
		}
		k := key{clientOf(ix, s), s.pos().tp()}
		prev, ok := last[k]
		last[k] = s
		if !ok || prev.invoke == s.invoke || s.send.Offset > prev.send.Offset {
			continue
		}
		f.witnesses = append(f.witnesses, Witness{
			Positions: []Position{prev.pos(), s.pos()},
			Values:    []string{prev.send.Value, s.send.Value},
			Ops:       uniqueSorted([]int64{prev.invoke, prev.op, s.invoke, s.op}),
			Detail: fmt.Sprintf("%s sent %s (invoked op %d) before %s (invoked op %d) to %s/%d, but they were acknowledged at offsets %d and %d",
				clientName(ix, s), prev.send.Value, prev.invoke, s.send.Value, s.invoke, s.send.Topic, s.send.Partition, prev.send.Offset, s.send.Offset),
		})
	}
	return f
}

// clientOf is the send's client; a send with no client named is judged per
// process instead (as Jepsen does), keyed below zero.
func clientOf(ix *index, s *sendRec) int {
	if s.send.Client > 0 {
		return s.send.Client
	}
	return -1 - ix.h[s.invoke].Process
}

func clientName(ix *index, s *sendRec) string {
	if s.send.Client > 0 {
		return fmt.Sprintf("client %d", s.send.Client)
	}
	return fmt.Sprintf("process %d", ix.h[s.invoke].Process)
}
