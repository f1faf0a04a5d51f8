package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// duplicates finds values at more than one position: read at two offsets,
// or read somewhere other than where the send was acknowledged. A log holds
// each send once (Jepsen's duplicate).
func duplicates(ix *index, _ *Opts) finding {
	var f finding
	acked := map[string]Position{}
	for _, s := range ix.sendList {
		if s.acked() {
			acked[s.send.Value] = s.pos()
		}
	}
	for _, v := range slices.Sorted(maps.Keys(ix.valueReads)) {
		first := map[Position]int64{} // position -> first op showing v there
		if p, ok := acked[v]; ok {
			first[p] = ix.sends[v].op
		}
		for _, i := range ix.valueReads[v] {
			r := ix.reads[i]
			if _, ok := first[r.pos]; !ok {
				first[r.pos] = r.op
			}
		}
		if len(first) < 2 {
			continue
		}
		w := Witness{Values: []string{v}}
		var where []string
		for _, pos := range slices.SortedFunc(maps.Keys(first), comparePositions) {
			w.Positions = append(w.Positions, pos)
			w.Ops = append(w.Ops, first[pos])
			where = append(where, fmt.Sprintf("%s (op %d)", pos, first[pos]))
		}
		w.Ops = uniqueSorted(w.Ops)
		w.Detail = fmt.Sprintf("value %s at %d positions: %s", v, len(first), strings.Join(where, ", "))
		f.witnesses = append(f.witnesses, w)
	}
	return f
}
