package checker

import (
	"fmt"
	"strings"

	"github.com/weir-dev/weir/history"
)

// tornTransactions finds transactions only part of whose sends are
// visible: a read_committed reader saw one of its records, so it
// committed, but another of its sends is missing from the complete final
// read (at its position when it had one; anywhere in the topic when it did
// not). A transaction is all or nothing. Failed (aborted) transactions are
// aborted-read's; committed ones none of whose records anybody saw are
// lost-write's (their sends were acknowledged).
func tornTransactions(ix *index, _ *Opts) finding {
	if ix.txns == 0 {
		return finding{notChecked: noTransactions}
	}
	var f finding
	byOp := map[int64][]*sendRec{}
	var order []int64
	for _, s := range ix.sendList {
		if !s.txn || s.typ == history.Fail {
			continue
		}
		if _, ok := byOp[s.op]; !ok {
			order = append(order, s.op)
		}
		byOp[s.op] = append(byOp[s.op], s)
	}
	for _, op := range order {
		sends := byOp[op]
		var seen *sendRec
		var seenBy read
		for _, s := range sends {
			if r, ok := ix.committedRead(s); ok {
				seen, seenBy = s, r
				break
			}
		}
		if seen == nil {
			continue
		}
		var missing []*sendRec
		var judge int64 = -1
		for _, s := range sends {
			if s == seen {
				continue
			}
			if fin, gone := ix.missingFromFinal(s); gone {
				missing = append(missing, s)
				judge = fin
			}
		}
		if len(missing) == 0 {
			continue
		}
		w := Witness{Positions: []Position{seenBy.pos}, Values: []string{seen.send.Value}, Ops: uniqueSorted([]int64{op, seenBy.op, judge})}
		var names []string
		for _, s := range missing {
			w.Values = append(w.Values, s.send.Value)
			if s.send.Acked() {
				w.Positions = append(w.Positions, s.pos())
				names = append(names, fmt.Sprintf("%s (at %s)", s.send.Value, s.pos()))
			} else {
				names = append(names, s.send.Value)
			}
		}
		w.Detail = fmt.Sprintf("transaction op %d: op %d read %s at %s, so it committed, but the complete final read (op %d) lacks %s", op, seenBy.op, seen.send.Value, seenBy.pos, judge, strings.Join(names, ", "))
		f.witnesses = append(f.witnesses, w)
	}
	return f
}

// committedRead returns a read of s's value by a read_committed reader.
func (ix *index) committedRead(s *sendRec) (read, bool) {
	for _, i := range ix.valueReads[s.vid] {
		r := ix.reads[i]
		if ix.parts[r.part].readCommitted {
			return r, true
		}
	}
	return read{}, false
}

// missingFromFinal reports whether a complete final read shows s is not
// in the log: not at its position when it has one, not anywhere in its
// topic when it has none and the final read covered every partition. It
// returns the final op that judged.
func (ix *index) missingFromFinal(s *sendRec) (int64, bool) {
	fin := ix.finals[s.send.Topic]
	if fin == nil || fin.op < 0 {
		return 0, false
	}
	if s.send.Acked() {
		pos := s.pos()
		if _, ok := ix.finalCoverage(pos.tp()); !ok {
			return 0, false
		}
		return fin.op, !ix.finalReaderReadAt(fin, s.send.Value, pos)
	}
	if fin.typ != history.OK {
		return 0, false
	}
	for _, i := range ix.valueReads[s.vid] {
		if ix.byFinalReader(fin, ix.parts[ix.reads[i].part]) {
			return 0, false
		}
	}
	return fin.op, true
}
