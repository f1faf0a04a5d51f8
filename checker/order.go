package checker

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/history"
)

// consumerReads walks each process's reads of each partition in order,
// calling fn for every successive pair. An assign or subscribe starts the
// process over (its new client reads from the start).
func consumerReads(ix *index, fn func(prev, cur read)) {
	last := map[int]map[tp]read{}
	for i := range ix.h {
		op := &ix.h[i]
		switch op.F {
		case history.FnAssign, history.FnSubscribe:
			delete(last, op.Process)
			continue
		case history.FnPoll:
		default:
			continue
		}
		if op.Type == history.Invoke || op.Poll == nil {
			continue
		}
		seen := last[op.Process]
		if seen == nil {
			seen = map[tp]read{}
			last[op.Process] = seen
		}
		for _, pr := range op.Poll.Reads {
			k := tp{pr.Topic, pr.Partition}
			for _, r := range pr.Records {
				cur := read{Position{pr.Topic, pr.Partition, r.Offset}, r.Value, op.Index}
				if prev, ok := seen[k]; ok {
					fn(prev, cur)
				}
				seen[k] = cur
			}
		}
	}
}

// nonmonotonicPolls finds a consumer reading an offset at or below the one
// it read just before in the same partition.
func nonmonotonicPolls(ix *index) []Witness {
	var out []Witness
	consumerReads(ix, func(prev, cur read) {
		if cur.pos.Offset > prev.pos.Offset {
			return
		}
		out = append(out, Witness{
			Positions: []Position{prev.pos, cur.pos},
			Values:    []string{prev.value, cur.value},
			Ops:       uniqueSorted([]int64{prev.op, cur.op}),
			Detail: fmt.Sprintf("process %d read %s (op %d) then %s (op %d)",
				ix.h[cur.op].Process, prev.pos, prev.op, cur.pos, cur.op),
		})
	})
	return out
}

// pollSkips finds a consumer jumping from one offset to a later one over an
// offset that some poll read. Gaps nobody read into are allowed: control
// records take offsets too.
func pollSkips(ix *index) []Witness {
	var out []Witness
	consumerReads(ix, func(prev, cur read) {
		if cur.pos.Offset <= prev.pos.Offset+1 {
			return
		}
		known := ix.offsets[cur.pos.tp()]
		i, _ := slices.BinarySearch(known, prev.pos.Offset+1)
		if i == len(known) || known[i] >= cur.pos.Offset {
			return
		}
		skipped := Position{cur.pos.Topic, cur.pos.Partition, known[i]}
		r := ix.posReads[skipped][0]
		out = append(out, Witness{
			Positions: []Position{prev.pos, skipped, cur.pos},
			Values:    []string{prev.value, r.value, cur.value},
			Ops:       uniqueSorted([]int64{prev.op, r.op, cur.op}),
			Detail: fmt.Sprintf("process %d read %s (op %d) then %s (op %d), skipping %s=%s that op %d read",
				ix.h[cur.op].Process, prev.pos, prev.op, cur.pos, cur.op, skipped, r.value, r.op),
		})
	})
	return out
}
