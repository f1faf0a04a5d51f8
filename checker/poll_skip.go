package checker

import "fmt"

// pollSkips finds a consumer whose next poll of a partition started beyond
// the offset after its previous poll's last one, jumping over an offset
// known to hold a record (read by some poll, or acknowledged to a send).
// Gaps nobody knows a record in are allowed: control records take offsets
// too (Jepsen's poll-skip). On a compacted topic, so are known records the
// cleaner may have removed before the poll returned (compaction.go's
// removableBefore).
func pollSkips(ix *index, _ *Opts) finding {
	return finding{witnesses: skips(ix, false)}
}

func skips(ix *index, within bool) []Witness {
	var out []Witness
	consumerReads(ix, func(prev, cur read, sameOp bool) {
		if sameOp != within || cur.pos.Offset <= prev.pos.Offset+1 {
			return
		}
		off, ok := ix.knownBetween(cur.pos.tp(), prev.pos.Offset, cur.pos.Offset)
		for ok && ix.removableSkip(cur.pos.tp(), off, cur) {
			off, ok = ix.knownBetween(cur.pos.tp(), off, cur.pos.Offset)
		}
		if !ok {
			return
		}
		skipped := cur.pos.tp().at(off)
		val, by := ix.knownValue(skipped)
		out = append(out, Witness{
			Positions: []Position{prev.pos, skipped, cur.pos},
			Values:    []string{prev.value, val, cur.value},
			Ops:       uniqueSorted([]int64{prev.op, by, cur.op}),
			Detail: fmt.Sprintf("process %d read %s (op %d) then %s (op %d), skipping %s=%s that op %d shows",
				ix.h[cur.op].Process, prev.pos, prev.op, cur.pos, cur.op, skipped, val, by),
		})
	})
	return out
}

// knownValue returns a value known at pos and the first op showing it (a
// read there, or the send acknowledged there).
func (ix *index) knownValue(pos Position) (string, int64) {
	val, op := "", int64(-1)
	if rs := ix.at(pos); len(rs) > 0 {
		val, op = ix.reads[rs[0]].value, ix.reads[rs[0]].op
	}
	for _, s := range ix.ackedAt(pos) {
		if op < 0 || s.op < op {
			val, op = s.send.Value, s.op
		}
	}
	return val, op
}
