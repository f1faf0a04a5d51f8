package checker

import (
	"fmt"
	"maps"
	"slices"
)

// phantomValues finds records read that no send ever carried: a value no
// send had, or a send's value under another key (corruption). Every send is
// in the history, whatever its outcome, so a record with no send came from
// nowhere.
func phantomValues(ix *index, _ *Opts) finding {
	var f finding
	for _, v := range slices.Sorted(maps.Keys(ix.valueReads)) {
		s := ix.sends[v]
		for _, i := range ix.valueReads[v] {
			r := ix.reads[i]
			switch {
			case s == nil:
				f.witnesses = append(f.witnesses, Witness{Positions: []Position{r.pos}, Values: []string{v}, Ops: []int64{r.op},
					Detail: fmt.Sprintf("op %d read %s=%s at %s, a value no send carried", r.op, r.key, v, r.pos)})
			case s.send.Key != r.key:
				f.witnesses = append(f.witnesses, Witness{Positions: []Position{r.pos}, Values: []string{v}, Ops: uniqueSorted([]int64{s.op, r.op}),
					Detail: fmt.Sprintf("op %d read %s with key %q at %s, but its send (op %d) carried key %q", r.op, v, r.key, r.pos, s.op, s.send.Key)})
			default:
				continue
			}
			break // one witness per value
		}
	}
	return f
}
