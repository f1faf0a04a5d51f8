package payments

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/hist"
)

// fraudAlerts finds fraud alerts that are not exactly the ones the rule
// defines on the committed ledger. Replaying its applied withdrawals in
// ledger order, per account: a tumbling window (event time divided by
// Config.Window) is alerted once, at the withdrawal that takes it past
// Config.MaxWithdrawals; a withdrawal is alerted by the sliding rule when
// the withdrawals applied so far within Config.Window of event time up to
// it (itself included) are more than the limit. Each alert must be one of
// those, once; each of those must be an alert.
func fraudAlerts(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(FraudAlerts, a.ledger, a.alerts); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	expected := map[string]ledgerEntry{} // alert id -> the withdrawal that raises it
	win := a.cfg.Window.Milliseconds()
	times := map[string][]int64{}
	done := map[string]bool{}
	for _, le := range a.entries {
		if !le.e.Applied || le.e.Kind != "withdraw" || len(le.e.Legs) != 1 {
			continue
		}
		acct, ms := le.e.Legs[0].Acct, le.e.Ms
		times[acct] = append(times[acct], ms)
		inWindow, inSlide := 0, 0
		for _, t := range times[acct] {
			if t/win == ms/win {
				inWindow++
			}
			if ms-win < t && t <= ms {
				inSlide++
			}
		}
		tumbling := alert{Rule: "tumbling", Acct: acct, Window: ms / win}.id()
		if inWindow > a.cfg.MaxWithdrawals && !done[tumbling] {
			done[tumbling], expected[tumbling] = true, le
		}
		if inSlide > a.cfg.MaxWithdrawals {
			expected[alert{Rule: "sliding", Acct: acct, Cmd: le.e.Cmd}.id()] = le
		}
	}
	raised := map[string]hist.Entry{}
	for _, p := range sortedParts(a.alerts.Records) {
		for _, at := range a.alerts.Records[p] {
			al, ok := decode[alert](at.Value)
			if !ok {
				continue
			}
			id := al.id()
			pos := a.pos(a.cfg.Alerts, p, at)
			if prev, twice := raised[id]; twice {
				f.Witnesses = append(f.Witnesses, checker.Witness{Positions: []checker.Position{pos}, Values: []string{prev.Value, at.Value},
					Ops: uniq(append(a.ops(prev), a.ops(at)...)), Detail: fmt.Sprintf("alert %s raised twice (again at %s)", id, pos)})
				continue
			}
			raised[id] = at
			if _, ok := expected[id]; !ok {
				f.Witnesses = append(f.Witnesses, checker.Witness{Positions: []checker.Position{pos}, Values: []string{at.Value},
					Ops:    uniq(append(a.ops(at), a.ledger.Op)),
					Detail: fmt.Sprintf("alert %s at %s, but the committed withdrawals of %s do not exceed %d within %v there", id, pos, al.Acct, a.cfg.MaxWithdrawals, a.cfg.Window)})
			}
		}
	}
	for _, id := range sortedKeys(expected) {
		if _, ok := raised[id]; ok {
			continue
		}
		le := expected[id]
		f.Witnesses = append(f.Witnesses, a.entryWitness(le, nil, fmt.Sprintf("no alert %s, though withdrawal %s makes more than %d withdrawals within %v", id, le.e.Cmd, a.cfg.MaxWithdrawals, a.cfg.Window)))
	}
	return f
}
