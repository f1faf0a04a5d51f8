package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// abortedReads finds values of failed sends that some poll read: a fail
// promised the record was never appended.
func abortedReads(ix *index) []Witness {
	var out []Witness
	for _, send := range ix.sendsOfType(history.Fail) {
		rs := ix.valueReads[send.Send.Value]
		if len(rs) == 0 {
			continue
		}
		out = append(out, Witness{
			Positions: []Position{rs[0].pos},
			Values:    []string{send.Send.Value},
			Ops:       uniqueSorted([]int64{send.Index, rs[0].op}),
			Detail: fmt.Sprintf("send %s failed (op %d: %s) but op %d read it at %s",
				send.Send.Value, send.Index, send.Error, rs[0].op, rs[0].pos),
		})
	}
	return out
}
