package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// intSendSkips finds one op whose successive sends to a partition were
// acknowledged with a record known between them (Jepsen's int-send-skip).
// Without transactions other producers' records interleave freely, so
// configurations normally allow it, as Jepsen does; it shows how sends of
// one op spread.
func intSendSkips(ix *index, _ *Opts) finding {
	var f finding
	intSendPairs(ix, func(op *history.Op, a, b *history.Send) {
		if b.Offset <= a.Offset+1 {
			return
		}
		k := tp{a.Topic, a.Partition}
		off, ok := ix.knownBetween(k, a.Offset, b.Offset)
		if !ok {
			return
		}
		val, by := ix.knownValue(k.at(off))
		f.witnesses = append(f.witnesses, Witness{
			Positions: []Position{sendPos(a), k.at(off), sendPos(b)},
			Values:    []string{a.Value, val, b.Value},
			Ops:       uniqueSorted([]int64{op.Index, by}),
			Detail:    fmt.Sprintf("op %d sent %s then %s, acknowledged at %s and %s, with %s=%s between (op %d)", op.Index, a.Value, b.Value, sendPos(a), sendPos(b), k.at(off), val, by),
		})
	})
	return f
}
