package clickstream

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/hist"
)

// orderViolations finds a user's events out of the order they were
// produced, on either side of the pipeline:
//   - into the input: two acknowledged events of one user where the first
//     was handed to the same client incarnation before the second (its
//     sequence number is lower), or was acknowledged before the second was
//     sent, yet sits at a higher offset;
//   - out of the processing: a session summary whose events are not in
//     input offset order, or two sessions of one user whose events
//     interleave (a user's sessions follow one another).
func orderViolations(a *analysis) checker.Finding {
	var f checker.Finding
	f.Witnesses = append(f.Witnesses, inputOrder(a)...)
	f.Witnesses = append(f.Witnesses, outputOrder(a)...)
	return f
}

type ackedEvent struct {
	s  *hist.Sent
	ev event
}

// inputOrder checks the producer-to-input order per user.
func inputOrder(a *analysis) []checker.Witness {
	byUser := map[string][]ackedEvent{}
	for _, s := range a.sends {
		if s.Send.Topic != a.cfg.Topic || !s.Acked() {
			continue
		}
		if ev, ok := parseEvent(s.Send.Value); ok {
			byUser[ev.User] = append(byUser[ev.User], ackedEvent{s, ev})
		}
	}
	var out []checker.Witness
	for _, u := range sortedKeys(byUser) {
		es := byUser[u]
		// One client incarnation: sequence order is offset order.
		slices.SortFunc(es, func(x, y ackedEvent) int { return x.ev.Seq - y.ev.Seq })
		for i := 1; i < len(es); i++ {
			x, y := es[i-1], es[i]
			if x.s.Send.Client == y.s.Send.Client && x.s.Send.Offset > y.s.Send.Offset {
				out = append(out, a.orderWitness(x, y, fmt.Sprintf("client %d was given %s before %s", x.s.Send.Client, x.s.Send.Value, y.s.Send.Value)))
			}
		}
		// Real time: acknowledged before the other was sent.
		slices.SortFunc(es, func(x, y ackedEvent) int { return int(x.s.Invoke - y.s.Invoke) })
		byDone := slices.Clone(es)
		slices.SortFunc(byDone, func(x, y ackedEvent) int { return int(x.s.Op - y.s.Op) })
		var best *ackedEvent
		j := 0
		for _, y := range es {
			for j < len(byDone) && byDone[j].s.Op < y.s.Invoke {
				if best == nil || byDone[j].s.Send.Offset > best.s.Send.Offset {
					best = &byDone[j]
				}
				j++
			}
			if best != nil && best.s.Send.Offset > y.s.Send.Offset {
				out = append(out, a.orderWitness(*best, y, fmt.Sprintf("%s was acknowledged (op %d) before %s was sent (op %d)", best.s.Send.Value, best.s.Op, y.s.Send.Value, y.s.Invoke)))
			}
		}
	}
	return out
}

func (a *analysis) orderWitness(x, y ackedEvent, why string) checker.Witness {
	px := checker.Position{Topic: a.cfg.Topic, Partition: x.s.Send.Partition, Offset: x.s.Send.Offset}
	py := checker.Position{Topic: a.cfg.Topic, Partition: y.s.Send.Partition, Offset: y.s.Send.Offset}
	return checker.Witness{
		Positions: []checker.Position{px, py},
		Values:    []string{x.s.Send.Value, y.s.Send.Value},
		Ops:       uniq([]int64{x.s.Op, y.s.Invoke, y.s.Op}),
		Detail:    fmt.Sprintf("user %s: %s, but it sits at %s after %s at %s", x.ev.User, why, px, y.s.Send.Value, py),
	}
}

// outputOrder checks each session's events and a user's sessions.
func outputOrder(a *analysis) []checker.Witness {
	var out []checker.Witness
	byUser := map[string][]outSession{}
	for _, s := range a.sessions {
		byUser[s.sum.User] = append(byUser[s.sum.User], s)
		for i := 1; i < len(s.sum.Offs); i++ {
			if s.sum.Offs[i] <= s.sum.Offs[i-1] {
				out = append(out, checker.Witness{
					Positions: []checker.Position{s.pos(a.cfg.Output)},
					Values:    []string{s.entry.Value},
					Ops:       uniq(a.sessionOps(s)),
					Detail: fmt.Sprintf("session %s of user %s lists input offsets %s: %d after %d, not the order its events were produced in (input %s/%d)",
						s.sum.SID, s.sum.User, offsets(s.sum.Offs), s.sum.Offs[i], s.sum.Offs[i-1], a.cfg.Topic, s.part),
				})
				break
			}
		}
	}
	for _, u := range sortedKeys(byUser) {
		ss := byUser[u]
		slices.SortFunc(ss, func(x, y outSession) int { return int(slices.Min(x.sum.Offs) - slices.Min(y.sum.Offs)) })
		for i := 1; i < len(ss); i++ {
			x, y := ss[i-1], ss[i]
			if slices.Max(x.sum.Offs) > slices.Min(y.sum.Offs) && slices.Max(x.sum.Offs) < slices.Max(y.sum.Offs) {
				out = append(out, checker.Witness{
					Positions: []checker.Position{x.pos(a.cfg.Output), y.pos(a.cfg.Output)},
					Values:    []string{x.entry.Value, y.entry.Value},
					Ops:       uniq(append(a.sessionOps(x), a.sessionOps(y)...)),
					Detail: fmt.Sprintf("user %s: sessions %s (offsets %s) and %s (offsets %s) interleave",
						u, x.sum.SID, offsets(x.sum.Offs), y.sum.SID, offsets(y.sum.Offs)),
				})
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
