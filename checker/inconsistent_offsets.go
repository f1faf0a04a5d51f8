package checker

import (
	"fmt"
	"slices"
	"strings"
)

// inconsistentOffsets finds positions holding more than one value: two
// reads disagree about what a log holds there, or a read disagrees with the
// send acknowledged there (Jepsen's inconsistent-offsets).
func inconsistentOffsets(ix *index, _ *Opts) finding {
	var f finding
	type shown struct {
		value string
		op    int64
	}
	for _, k := range ix.tpIdx {
		p := ix.byTP[k]
		ri, ai := 0, 0 // next read and acked send of p, both by offset
		for _, off := range p.known {
			var vals []shown // values, with the first op showing each here
			note := func(v string, op int64) {
				i := slices.IndexFunc(vals, func(s shown) bool { return s.value == v })
				switch {
				case i < 0:
					vals = append(vals, shown{v, op})
				case op < vals[i].op:
					vals[i].op = op
				}
			}
			for ; ai < len(p.acked) && p.acked[ai].send.Offset == off; ai++ {
				note(p.acked[ai].send.Value, p.acked[ai].op)
			}
			for ; ri < len(p.reads) && ix.reads[p.reads[ri]].pos.Offset == off; ri++ {
				r := ix.reads[p.reads[ri]]
				note(r.value, r.op)
			}
			if len(vals) < 2 {
				continue
			}
			slices.SortFunc(vals, func(a, b shown) int { return strings.Compare(a.value, b.value) })
			pos := k.at(off)
			w := Witness{Positions: []Position{pos}}
			var what []string
			for _, s := range vals {
				w.Values = append(w.Values, s.value)
				w.Ops = append(w.Ops, s.op)
				what = append(what, fmt.Sprintf("%s (op %d)", s.value, s.op))
			}
			w.Ops = uniqueSorted(w.Ops)
			w.Detail = fmt.Sprintf("%s holds %d values: %s", pos, len(vals), strings.Join(what, ", "))
			f.witnesses = append(f.witnesses, w)
		}
	}
	return f
}
