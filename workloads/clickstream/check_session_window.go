package clickstream

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/weir-dev/weir/checker"
)

// windowViolations finds session summaries that are not the sessions the
// inactivity window defines. From the complete final read of the input,
// the checker replays each partition in offset order with the rule of
// doc.go (an event closes every open session it is more than Gap past, in
// event time, then joins its user's open session or opens one; a barrier
// closes every session): that gives every session the log defines. Each
// summary must be one of them, with the same events. Sessions of the log
// that never came out show as lost events.
func windowViolations(a *analysis) checker.Finding {
	var f checker.Finding
	if !a.in.AllComplete() {
		f.Unjudged = a.finalsUnjudged(SessionWindow)[:1]
		return f
	}
	expected := map[string][]int64{}
	for p := range a.cfg.Partitions {
		for sid, offs := range expectedSessions(a, p) {
			expected[sid] = offs
		}
	}
	for _, s := range a.sessions {
		want, ok := expected[s.sum.SID]
		if ok && slices.Equal(want, s.sum.Offs) {
			continue
		}
		w := checker.Witness{
			Positions: []checker.Position{s.pos(a.cfg.Output), {Topic: a.cfg.Topic, Partition: s.part, Offset: s.sum.Offs[0]}},
			Values:    []string{s.entry.Value},
			Ops:       uniq(append(a.sessionOps(s), a.in.Op)),
		}
		if ok {
			w.Detail = fmt.Sprintf("session %s counts input offsets %s, but with a %v inactivity window the log makes it %s",
				s.sum.SID, offsets(s.sum.Offs), a.cfg.Gap, offsets(want))
		} else {
			w.Detail = fmt.Sprintf("session %s (offsets %s) is no session the %v inactivity window defines: %s",
				s.sum.SID, offsets(s.sum.Offs), a.cfg.Gap, a.sessionAround(s, expected))
		}
		f.Witnesses = append(f.Witnesses, w)
	}
	return f
}

// expectedSessions replays partition p of the input log.
func expectedSessions(a *analysis, p int32) map[string][]int64 {
	gap := a.cfg.Gap.Milliseconds()
	type open struct {
		offs  []int64
		maxMs int64
	}
	opened := map[string]*open{}
	out := map[string][]int64{}
	closeIf := func(done func(*open) bool) {
		for u, s := range opened {
			if done(s) {
				out[fmt.Sprintf("%s@%d", u, s.offs[0])] = s.offs
				delete(opened, u)
			}
		}
	}
	for _, e := range a.in.Records[p] {
		if isBarrier(e.Value) {
			closeIf(func(*open) bool { return true })
			continue
		}
		ev, ok := parseEvent(e.Value)
		if !ok {
			continue
		}
		closeIf(func(s *open) bool { return ev.Ms-s.maxMs > gap })
		s := opened[ev.User]
		if s == nil {
			s = &open{maxMs: ev.Ms}
			opened[ev.User] = s
		}
		s.offs = append(s.offs, e.Offset)
		s.maxMs = max(s.maxMs, ev.Ms)
	}
	return out
}

// sessionAround names the expected sessions that hold s's first event.
func (a *analysis) sessionAround(s outSession, expected map[string][]int64) string {
	var names []string
	for sid, offs := range expected {
		if slices.Contains(offs, s.sum.Offs[0]) && sidUser(sid) == s.sum.User {
			names = append(names, fmt.Sprintf("%s (offsets %s)", sid, offsets(offs)))
		}
	}
	slices.SortFunc(names, cmp.Compare)
	if len(names) == 0 {
		return "no session of the log holds its first event"
	}
	return "the log's session with its first event is " + names[0]
}

func sidUser(sid string) string {
	for i := len(sid) - 1; i >= 0; i-- {
		if sid[i] == '@' {
			return sid[:i]
		}
	}
	return sid
}
