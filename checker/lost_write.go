package checker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weir-dev/weir/history"
)

// coverage says whether every record at pos should have been read: some
// poll read a later offset of its partition (returned), or an ok final read
// covered the partition (returned as a read of the final op).
func (ix *index) coverage(pos Position) (read, bool) {
	if r, ok := ix.maxRead[pos.tp()]; ok && r.pos.Offset > pos.Offset {
		return r, true
	}
	if m, ok := ix.final[pos.tp()]; ok {
		return read{pos: Position{pos.Topic, pos.Partition, m.hwm}, op: m.op}, true
	}
	return read{}, false
}

// lostWrites finds acknowledged sends not read at their acknowledged
// position although that position was covered. Info sends are never lost.
func lostWrites(ix *index) []Witness {
	var out []Witness
	for _, send := range ix.sendsOfType(history.OK) {
		s := send.Send
		pos := sendPos(s)
		if ix.readAt(s.Value, pos) {
			continue
		}
		cover, ok := ix.coverage(pos)
		if !ok {
			continue // unseen: nobody read that far
		}
		w := Witness{Positions: []Position{pos}, Values: []string{s.Value}, Ops: []int64{send.Index, cover.op}}
		var why []string
		if others := ix.posReads[pos]; len(others) > 0 {
			var vals []string
			for _, r := range others {
				vals = append(vals, r.value)
				w.Ops = append(w.Ops, r.op)
			}
			vals = uniqueSorted(vals)
			w.Values = append(w.Values, vals...)
			why = append(why, fmt.Sprintf("op %d read %s there", others[0].op, strings.Join(vals, ", ")))
		}
		if elsewhere := ix.valueReads[s.Value]; len(elsewhere) > 0 {
			w.Positions = append(w.Positions, elsewhere[0].pos)
			w.Ops = append(w.Ops, elsewhere[0].op)
			why = append(why, fmt.Sprintf("op %d read it at %s instead", elsewhere[0].op, elsewhere[0].pos))
		} else if len(why) == 0 {
			why = append(why, "never read")
		}
		if cover.pos.Offset > pos.Offset && ix.h[cover.op].F == history.FnPoll {
			why = append(why, fmt.Sprintf("op %d read the later offset %d", cover.op, cover.pos.Offset))
		} else if pos.Offset >= cover.pos.Offset {
			why = append(why, fmt.Sprintf("beyond the final high watermark %d (op %d)", cover.pos.Offset, cover.op))
		} else {
			why = append(why, fmt.Sprintf("the final read to high watermark %d (op %d) missed it", cover.pos.Offset, cover.op))
		}
		w.Ops = uniqueSorted(w.Ops)
		w.Detail = fmt.Sprintf("send %s (op %d) acknowledged at %s: %s", s.Value, send.Index, pos, strings.Join(why, "; "))
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b Witness) int { return comparePositions(a.Positions[0], b.Positions[0]) })
	return out
}
