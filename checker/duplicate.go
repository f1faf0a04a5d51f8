package checker

import (
	"fmt"
	"slices"
	"strings"
)

// duplicates finds values at more than one position: read at two offsets,
// or read somewhere other than where the send was acknowledged. A log holds
// each send once (Jepsen's duplicate).
func duplicates(ix *index, _ *Opts) finding {
	var f finding
	type shown struct {
		pos Position
		op  int64
	}
	for vid, rs := range ix.valueReads {
		if len(rs) == 0 {
			continue
		}
		var at []shown // positions, with the first op showing the value there
		note := func(pos Position, op int64) {
			i := slices.IndexFunc(at, func(s shown) bool { return s.pos == pos })
			switch {
			case i < 0:
				at = append(at, shown{pos, op})
			case op < at[i].op:
				at[i].op = op
			}
		}
		if s := ix.sendOf[vid]; s != nil && s.acked() {
			note(s.pos(), s.op)
		}
		for _, i := range rs {
			note(ix.reads[i].pos, ix.reads[i].op)
		}
		if len(at) < 2 {
			continue
		}
		slices.SortFunc(at, func(a, b shown) int { return comparePositions(a.pos, b.pos) })
		v := ix.values[vid]
		w := Witness{Values: []string{v}}
		var where []string
		for _, s := range at {
			w.Positions = append(w.Positions, s.pos)
			w.Ops = append(w.Ops, s.op)
			where = append(where, fmt.Sprintf("%s (op %d)", s.pos, s.op))
		}
		w.Ops = uniqueSorted(w.Ops)
		w.Detail = fmt.Sprintf("value %s at %d positions: %s", v, len(at), strings.Join(where, ", "))
		f.witnesses = append(f.witnesses, w)
	}
	return f
}
