package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// abortedReads finds values of failed sends that some poll read (Jepsen's
// G1a, aborted read): a fail promised the record was never appended, and a
// failed (aborted) transaction's sends must stay invisible to every
// read_committed reader. A read_uncommitted reader may see an aborted
// transaction's records (they are in the log); only its reads of failed
// sends outside transactions count.
func abortedReads(ix *index, _ *Opts) finding {
	var f finding
	for _, s := range ix.sendsOfType(history.Fail) {
		for _, i := range ix.valueReads[s.vid] {
			r := ix.reads[i]
			if s.txn && !ix.parts[r.part].readCommitted {
				continue
			}
			what := "failed"
			if s.txn {
				what = "was aborted"
			}
			f.witnesses = append(f.witnesses, Witness{
				Positions: []Position{r.pos},
				Values:    []string{s.send.Value},
				Ops:       uniqueSorted([]int64{s.op, r.op}),
				Detail:    fmt.Sprintf("send %s %s (op %d: %s) but op %d read it at %s", s.send.Value, what, s.op, ix.h[s.op].Error, r.op, r.pos),
			})
			break
		}
	}
	return f
}
