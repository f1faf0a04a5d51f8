package payments

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
)

// exactlyOnce finds commands not applied exactly once in the committed
// ledger (read_committed): a command with two entries (applied or
// rejected twice), a command below a barrier the processor answered with
// no entry at all, and an entry for a command the input never held.
func exactlyOnce(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(ExactlyOnce, a.in, a.ledger); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	first := map[string]ledgerEntry{}
	for _, le := range a.entries {
		prev, twice := first[le.e.Cmd]
		if !twice {
			first[le.e.Cmd] = le
		}
		in, known := a.commands[le.e.Cmd]
		switch {
		case twice:
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{a.pos(a.cfg.Ledger, prev.part, prev.at), a.pos(a.cfg.Ledger, le.part, le.at)},
				Values:    []string{prev.at.Value, le.at.Value},
				Ops:       uniq(append(a.ops(prev.at), a.ops(le.at)...)),
				Detail: fmt.Sprintf("command %s (%s %d from %s) has two committed ledger entries, at %s and %s",
					le.e.Cmd, in.c.Kind, in.c.Amount, in.c.Acct, a.pos(a.cfg.Ledger, prev.part, prev.at), a.pos(a.cfg.Ledger, le.part, le.at)),
			})
		case !known:
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{a.pos(a.cfg.Ledger, le.part, le.at)},
				Values:    []string{le.at.Value},
				Ops:       uniq(append(a.ops(le.at), a.in.Op)),
				Detail:    fmt.Sprintf("the ledger applies command %s, which the complete final read of %s does not hold", le.e.Cmd, a.cfg.Topic),
			})
		}
	}
	for p := range a.cfg.Partitions {
		b, ok := a.barrier[p]
		if !ok {
			f.Unjudged = append(f.Unjudged, checker.Unjudged{Reason: checker.ProcessingIncomplete, Check: ExactlyOnce,
				Detail: fmt.Sprintf("no answer to a barrier of %s/%d came out: how far the processor got is unknown", a.cfg.Topic, p)})
			continue
		}
		for _, at := range a.in.Records[p] {
			c, ok := parseCommand(at.Value)
			if at.Offset >= b || !ok {
				continue
			}
			if _, done := first[c.ID]; done {
				continue
			}
			inPos := checker.Position{Topic: a.cfg.Topic, Partition: p, Offset: at.Offset}
			ops := []int64{at.Op, a.barrierAt[p].Op}
			if s := a.sends[at.Value]; s != nil {
				ops = append(ops, s.Op)
			}
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{inPos},
				Values:    []string{at.Value},
				Ops:       uniq(ops),
				Detail:    fmt.Sprintf("command %s at %s is in no committed ledger entry, though the processor answered the barrier at offset %d after it", c.ID, inPos, b),
			})
		}
	}
	return f
}
