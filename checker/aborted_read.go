package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// abortedReads finds values of failed sends that some poll read (Jepsen's
// G1a, aborted read): a fail promised the record was never appended, and a
// failed (aborted) transaction's sends must stay invisible.
func abortedReads(ix *index, _ *Opts) finding {
	var f finding
	for _, s := range ix.sendsOfType(history.Fail) {
		rs := ix.valueReads[s.vid]
		if len(rs) == 0 {
			continue
		}
		r := ix.reads[rs[0]]
		f.witnesses = append(f.witnesses, Witness{
			Positions: []Position{r.pos},
			Values:    []string{s.send.Value},
			Ops:       uniqueSorted([]int64{s.op, r.op}),
			Detail:    fmt.Sprintf("send %s failed (op %d: %s) but op %d read it at %s", s.send.Value, s.op, ix.h[s.op].Error, r.op, r.pos),
		})
	}
	return f
}
