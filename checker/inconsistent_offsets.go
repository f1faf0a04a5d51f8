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
	type shown struct {
		value string
		op    int64
	}
	for _, k := range ix.knownPartitions() {
		for _, off := range ix.known[k] {
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
			for _, s := range ix.ackedAt[k][off] {
				note(s.send.Value, s.op)
			}
			for _, i := range ix.posReads[k][off] {
				note(ix.reads[i].value, ix.reads[i].op)
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

// knownPartitions returns the partitions with a known offset, sorted.
func (ix *index) knownPartitions() []tp { return slices.SortedFunc(maps.Keys(ix.known), compareTP) }
