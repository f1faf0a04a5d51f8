package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// unseen finds acknowledged sends that no poll read at all, the final
// read's included (Jepsen's unseen). It is informational: an unseen send is
// a lost write when the final read covered its partition, and unjudged
// (the verdict unknown) when it did not, so it never decides a verdict by
// itself; it tells a reader where to look. A send the cleaner of a
// compacted topic may have removed before any poll read it is not unseen.
func unseen(ix *index, _ *Opts) finding {
	var f finding
	for _, s := range ix.sendsOfType(history.OK) {
		if len(ix.valueReads[s.vid]) > 0 || ix.superseded(s) {
			continue
		}
		pos := s.pos()
		state := "the final read did not finish this partition"
		if _, ok := ix.finalCoverage(pos.tp()); ok {
			state = "so it is a lost write"
		}
		f.witnesses = append(f.witnesses, Witness{
			Positions: []Position{pos},
			Values:    []string{s.send.Value},
			Ops:       []int64{s.op},
			Detail:    fmt.Sprintf("send %s (op %d) acknowledged at %s was read by no poll; %s", s.send.Value, s.op, pos, state),
		})
	}
	f.note = "informational: each unseen send is also a lost write or unjudged"
	return f
}
