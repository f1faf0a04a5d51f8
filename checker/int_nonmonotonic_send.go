package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// intNonmonotonicSends finds one op whose later send to a partition was
// acknowledged at a lower or equal offset than an earlier one (Jepsen's
// int-nonmonotonic-send): one client keeps the order of its records.
func intNonmonotonicSends(ix *index, _ *Opts) finding {
	var f finding
	intSendPairs(ix, func(op *history.Op, a, b *history.Send) {
		if b.Offset > a.Offset {
			return
		}
		f.witnesses = append(f.witnesses, Witness{
			Positions: []Position{sendPos(a), sendPos(b)},
			Values:    []string{a.Value, b.Value},
			Ops:       []int64{op.Index},
			Detail:    fmt.Sprintf("op %d sent %s then %s, but they were acknowledged at %s and %s", op.Index, a.Value, b.Value, sendPos(a), sendPos(b)),
		})
	})
	return f
}
