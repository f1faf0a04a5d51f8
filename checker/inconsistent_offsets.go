package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// inconsistentOffsets finds positions holding more than one value: two
// reads disagree about what a log holds there, or a read disagrees with the
// send acknowledged there (Jepsen's inconsistent-offsets).
func inconsistentOffsets(ix *index, _ *Opts) finding {
	var f finding
	at := map[Position]map[string]int64{} // position -> value -> first op showing it there
	note := func(pos Position, v string, op int64) {
		if at[pos] == nil {
			at[pos] = map[string]int64{}
		}
		if o, ok := at[pos][v]; !ok || op < o {
			at[pos][v] = op
		}
	}
	for _, s := range ix.sendList {
		if s.acked() {
			note(s.pos(), s.send.Value, s.op)
		}
	}
	for _, r := range ix.reads {
		note(r.pos, r.value, r.op)
	}
	for _, pos := range slices.SortedFunc(maps.Keys(at), comparePositions) {
		vals := at[pos]
		if len(vals) < 2 {
			continue
		}
		w := Witness{Positions: []Position{pos}}
		var what []string
		for _, v := range slices.Sorted(maps.Keys(vals)) {
			w.Values = append(w.Values, v)
			w.Ops = append(w.Ops, vals[v])
			what = append(what, fmt.Sprintf("%s (op %d)", v, vals[v]))
		}
		w.Ops = uniqueSorted(w.Ops)
		w.Detail = fmt.Sprintf("%s holds %d values: %s", pos, len(vals), strings.Join(what, ", "))
		f.witnesses = append(f.witnesses, w)
	}
	return f
}
