package checker

import "fmt"

// nonmonotonicPolls finds a consumer whose next poll started at or below
// the offset its previous poll of the same partition ended at, without an
// assign or subscribe in between (Jepsen's nonmonotonic-poll).
func nonmonotonicPolls(ix *index, _ *Opts) finding {
	return finding{witnesses: backwards(ix, false)}
}

func backwards(ix *index, within bool) []Witness {
	var out []Witness
	consumerReads(ix, func(prev, cur read, sameOp bool) {
		if sameOp != within || cur.pos.Offset > prev.pos.Offset {
			return
		}
		where := fmt.Sprintf("then %s (op %d)", cur.pos, cur.op)
		if within {
			where = fmt.Sprintf("then %s in the same op", cur.pos)
		}
		out = append(out, Witness{
			Positions: []Position{prev.pos, cur.pos},
			Values:    []string{prev.value, cur.value},
			Ops:       uniqueSorted([]int64{prev.op, cur.op}),
			Detail:    fmt.Sprintf("process %d read %s (op %d) %s", ix.h[cur.op].Process, prev.pos, prev.op, where),
		})
	})
	return out
}
