package clickstream

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
)

// lostEvents finds events the processing skipped: an event in the input
// log below a barrier the processing answered (so it went past the event)
// that no session summary counts. Judged on the complete final reads of
// both topics; a partition whose barrier never came out is unjudged
// (processing-incomplete). Events lost from the input itself are
// lost-write's.
func lostEvents(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.finalsUnjudged(LostEvent); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	counted := map[int32]map[int64]bool{}
	for _, s := range a.sessions {
		if counted[s.part] == nil {
			counted[s.part] = map[int64]bool{}
		}
		for _, o := range s.sum.Offs {
			counted[s.part][o] = true
		}
	}
	for p := range a.cfg.Partitions {
		b, ok := a.barrier[p]
		if !ok {
			f.Unjudged = append(f.Unjudged, checker.Unjudged{Reason: checker.ProcessingIncomplete, Check: LostEvent,
				Detail: fmt.Sprintf("no answer to a barrier of %s/%d came out: how far the processing got is unknown", a.cfg.Topic, p)})
			continue
		}
		for _, e := range a.in.Records[p] {
			if e.Offset >= b {
				break
			}
			ev, ok := parseEvent(e.Value)
			if !ok || counted[p][e.Offset] {
				continue
			}
			pos := checker.Position{Topic: a.cfg.Topic, Partition: p, Offset: e.Offset}
			at := a.barrierAt[p]
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{pos, {Topic: a.cfg.Output, Partition: p, Offset: at.Offset}},
				Values:    []string{e.Value},
				Ops:       uniq(append(a.eventOps(e), at.Op, a.out.Op)),
				Detail: fmt.Sprintf("event %s of user %s at %s is in no session summary, though the processing answered the barrier at offset %d after it (summary at %s/%d@%d)",
					e.Value, ev.User, pos, b, a.cfg.Output, p, at.Offset),
			})
		}
	}
	return f
}
