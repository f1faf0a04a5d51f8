package payments

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
)

// negativeBalances finds balances below what the rule allows: an account
// 0 of a branch below minus the credit limit, any other account below
// zero, in a committed ledger leg or a record of the state topic.
func negativeBalances(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(NegativeBalance, a.ledger); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	for _, le := range a.entries {
		for _, l := range le.e.Legs {
			if floor := a.cfg.floor(l.Acct); l.Bal < floor {
				f.Witnesses = append(f.Witnesses, a.entryWitness(le, nil,
					fmt.Sprintf("command %s (%s) takes account %s to %d, below its floor %d", le.e.Cmd, le.e.Kind, l.Acct, l.Bal, floor)))
			}
		}
	}
	if u := a.unjudged(NegativeBalance, a.balances); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	for _, p := range sortedParts(a.balances.Records) {
		for _, at := range a.balances.Records[p] {
			b, ok := decode[balance](at.Value)
			if floor := a.cfg.floor(b.Acct); ok && b.Bal < floor {
				f.Witnesses = append(f.Witnesses, checker.Witness{
					Positions: []checker.Position{a.pos(a.cfg.Balances, p, at)},
					Values:    []string{at.Value},
					Ops:       uniq(a.ops(at)),
					Detail:    fmt.Sprintf("the state topic holds %s at %d after %s, below its floor %d", b.Acct, b.Bal, b.Cmd, floor),
				})
			}
		}
	}
	return f
}
