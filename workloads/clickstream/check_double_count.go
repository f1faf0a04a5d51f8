package clickstream

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/checker"
)

// doubleCounts finds events counted twice in the output: an input event
// in two different session summaries, or twice in one. A summary written
// again with the same events (a replay after a crash) is the same session
// and counts once.
func doubleCounts(a *analysis) checker.Finding {
	var f checker.Finding
	type where struct {
		part int32
		off  int64
	}
	first := map[where]outSession{}
	for _, s := range a.sessions {
		for i, o := range s.sum.Offs {
			if slices.Contains(s.sum.Offs[:i], o) {
				f.Witnesses = append(f.Witnesses, a.doubleWitness(s, s, o, fmt.Sprintf("session %s counts it twice", s.sum.SID)))
				continue
			}
			k := where{s.part, o}
			if prev, ok := first[k]; ok {
				f.Witnesses = append(f.Witnesses, a.doubleWitness(prev, s, o,
					fmt.Sprintf("sessions %s (offsets %s) and %s (offsets %s) both count it", prev.sum.SID, offsets(prev.sum.Offs), s.sum.SID, offsets(s.sum.Offs))))
				continue
			}
			first[k] = s
		}
	}
	return f
}

func (a *analysis) doubleWitness(x, y outSession, off int64, why string) checker.Witness {
	pos := checker.Position{Topic: a.cfg.Topic, Partition: x.part, Offset: off}
	w := checker.Witness{
		Positions: []checker.Position{pos, x.pos(a.cfg.Output)},
		Ops:       uniq(append(a.sessionOps(x), a.sessionOps(y)...)),
	}
	if y.entry.Offset != x.entry.Offset {
		w.Positions = append(w.Positions, y.pos(a.cfg.Output))
	}
	value := "?"
	if _, e, ok := a.eventAt(x.part, off); ok {
		value = e.Value
		w.Values = append(w.Values, e.Value)
		w.Ops = uniq(append(w.Ops, a.eventOps(e)...))
	}
	w.Detail = fmt.Sprintf("event %s at %s counted twice: %s", value, pos, why)
	return w
}
