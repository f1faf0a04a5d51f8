package payments

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/hist"
)

// conservation finds money created or destroyed. Replaying the committed
// ledger in order (every entry is a committed point of its branch):
//   - each leg's balance is the account's previous balance plus the leg's
//     change (a double-applied or lost update breaks the chain);
//   - the legs are what the command says: a deposit adds its amount, a
//     withdrawal takes it, a transfer takes it from one account and adds
//     it to the other, so a transfer's legs sum to zero;
//   - the state topic agrees: every balance record is a leg of the ledger
//     (same account, command and balance), the last of each account is its
//     final balance, and the balances sum to the deposits minus the
//     withdrawals applied.
func conservation(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(Conservation, a.in, a.ledger); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	last := map[string]ledgerEntry{} // the entry that last moved each account
	bal := map[string]int64{}
	var flow int64 // deposits minus withdrawals applied
	for _, le := range a.entries {
		if !le.e.Applied {
			continue
		}
		c, known := a.commands[le.e.Cmd]
		if known {
			if why := legsMismatch(c.c, le.e.Legs); why != "" {
				f.Witnesses = append(f.Witnesses, a.entryWitness(le, nil, fmt.Sprintf("command %s (%s %d from %s to %s): %s", c.c.ID, c.c.Kind, c.c.Amount, c.c.Acct, c.c.To, why)))
			}
		}
		for _, l := range le.e.Legs {
			if want := bal[l.Acct] + l.Delta; l.Bal != want {
				prev, had := last[l.Acct]
				var before *ledgerEntry
				was := "none (0)"
				if had {
					before, was = &prev, fmt.Sprintf("%d after %s", bal[l.Acct], prev.e.Cmd)
				}
				f.Witnesses = append(f.Witnesses, a.entryWitness(le, before, fmt.Sprintf("account %s: command %s changes it by %+d to %d, but its committed balance before was %s, so it should be %d",
					l.Acct, le.e.Cmd, l.Delta, l.Bal, was, want)))
			}
			bal[l.Acct], last[l.Acct] = l.Bal, le
		}
		switch le.e.Kind {
		case "deposit", "withdraw":
			for _, l := range le.e.Legs {
				flow += l.Delta
			}
		}
	}
	if u := a.unjudged(Conservation, a.balances); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	f.Witnesses = append(f.Witnesses, a.stateAgrees(bal, last, flow)...)
	return f
}

// legsMismatch says how legs differ from what command c does.
func legsMismatch(c command, legs []leg) string {
	want := map[string][]leg{
		"deposit":  {{Acct: c.Acct, Delta: c.Amount}},
		"withdraw": {{Acct: c.Acct, Delta: -c.Amount}},
		"transfer": {{Acct: c.Acct, Delta: -c.Amount}, {Acct: c.To, Delta: c.Amount}},
	}[c.Kind]
	if len(legs) != len(want) {
		return fmt.Sprintf("%d legs, want %d", len(legs), len(want))
	}
	for i, l := range legs {
		if l.Acct != want[i].Acct || l.Delta != want[i].Delta {
			return fmt.Sprintf("leg %d moves %+d on %s, want %+d on %s", i, l.Delta, l.Acct, want[i].Delta, want[i].Acct)
		}
	}
	return ""
}

// stateAgrees checks the balances topic against the ledger's balances.
func (a *analysis) stateAgrees(bal map[string]int64, last map[string]ledgerEntry, flow int64) []checker.Witness {
	var out []checker.Witness
	legs := map[[2]string]int64{} // (account, command) -> balance after
	for _, le := range a.entries {
		for _, l := range le.e.Legs {
			legs[[2]string{l.Acct, le.e.Cmd}] = l.Bal
		}
	}
	final := map[string]hist.Entry{}
	finalPart := map[string]int32{}
	var sum int64
	for _, p := range sortedParts(a.balances.Records) {
		for _, at := range a.balances.Records[p] {
			b, ok := decode[balance](at.Value)
			if !ok {
				continue
			}
			if want, ok := legs[[2]string{b.Acct, b.Cmd}]; !ok || want != b.Bal {
				out = append(out, checker.Witness{
					Positions: []checker.Position{a.pos(a.cfg.Balances, p, at)},
					Values:    []string{at.Value},
					Ops:       uniq(append(a.ops(at), a.ledger.Op)),
					Detail:    fmt.Sprintf("the state topic says %s is %d after command %s; the committed ledger has no such change", b.Acct, b.Bal, b.Cmd),
				})
			}
			final[b.Acct], finalPart[b.Acct] = at, p
		}
	}
	for _, acct := range sortedKeys(final) {
		b, _ := decode[balance](final[acct].Value)
		sum += b.Bal
		if b.Bal != bal[acct] {
			le := last[acct]
			out = append(out, checker.Witness{
				Positions: []checker.Position{a.pos(a.cfg.Balances, finalPart[acct], final[acct]), a.pos(a.cfg.Ledger, le.part, le.at)},
				Values:    []string{final[acct].Value, le.at.Value},
				Ops:       uniq(append(a.ops(final[acct]), a.ops(le.at)...)),
				Detail:    fmt.Sprintf("account %s ends at %d in the state topic but at %d in the ledger (after %s)", acct, b.Bal, bal[acct], le.e.Cmd),
			})
		}
	}
	for _, acct := range sortedKeys(bal) {
		if _, ok := final[acct]; !ok && bal[acct] != 0 {
			out = append(out, checker.Witness{Ops: uniq([]int64{a.balances.Op, last[acct].at.Op}),
				Detail: fmt.Sprintf("account %s has balance %d in the ledger and no record in the state topic", acct, bal[acct])})
		}
	}
	if sum != flow {
		out = append(out, checker.Witness{Ops: uniq([]int64{a.balances.Op, a.ledger.Op}),
			Detail: fmt.Sprintf("the accounts hold %d in the state topic, but the committed deposits minus withdrawals are %d: %+d created", sum, flow, sum-flow)})
	}
	return out
}

func (a *analysis) entryWitness(le ledgerEntry, before *ledgerEntry, detail string) checker.Witness {
	w := checker.Witness{
		Positions: []checker.Position{a.pos(a.cfg.Ledger, le.part, le.at)},
		Values:    []string{le.at.Value},
		Ops:       a.ops(le.at),
		Detail:    detail,
	}
	if before != nil {
		w.Positions = append([]checker.Position{a.pos(a.cfg.Ledger, before.part, before.at)}, w.Positions...)
		w.Values = append([]string{before.at.Value}, w.Values...)
		w.Ops = append(w.Ops, a.ops(before.at)...)
	}
	w.Ops = uniq(w.Ops)
	return w
}
