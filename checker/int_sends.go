package checker

import "github.com/weir-dev/weir/history"

// intSendPairs calls fn for each pair of successive acknowledged sends to
// one partition within one op (a txn), in the op's order.
func intSendPairs(ix *index, fn func(op *history.Op, a, b *history.Send)) {
	for i := range ix.h {
		op := &ix.h[i]
		if op.Txn == nil || op.Type == history.Invoke {
			continue
		}
		last := map[tp]*history.Send{}
		for _, s := range op.Sends() {
			if !s.Acked() {
				continue
			}
			k := tp{s.Topic, s.Partition}
			if prev, ok := last[k]; ok {
				fn(op, prev, s)
			}
			last[k] = s
		}
	}
}

func sendPos(s *history.Send) Position { return Position{s.Topic, s.Partition, s.Offset} }
