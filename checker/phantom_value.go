package checker

import "fmt"

// phantomValues finds records read that no send ever carried: a value no
// send had, or a send's value under another key (corruption). Every send is
// in the history, whatever its outcome, so a record with no send came from
// nowhere.
func phantomValues(ix *index, _ *Opts) finding {
	var f finding
	for vid, rs := range ix.valueReads {
		s := ix.sendOf[vid]
		for _, i := range rs {
			r := ix.reads[i]
			switch {
			case s == nil:
				f.witnesses = append(f.witnesses, Witness{Positions: []Position{r.pos}, Values: []string{r.value}, Ops: []int64{r.op},
					Detail: fmt.Sprintf("op %d read %s=%s at %s, a value no send carried", r.op, r.key, r.value, r.pos)})
			case s.send.Key != r.key:
				f.witnesses = append(f.witnesses, Witness{Positions: []Position{r.pos}, Values: []string{r.value}, Ops: uniqueSorted([]int64{s.op, r.op}),
					Detail: fmt.Sprintf("op %d read %s with key %q at %s, but its send (op %d) carried key %q", r.op, r.value, r.key, r.pos, s.op, s.send.Key)})
			default:
				continue
			}
			break // one witness per value
		}
	}
	return f
}
