package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/weir-dev/weir/history"
)

// lostWrites finds acknowledged sends that are not in the log at the
// position they were acknowledged at. The judge is the complete final
// read: a partition the final reader read from its log start to its high
// watermark must hold every send acknowledged in it, at its offset. A send
// read there earlier and gone at the end is lost too (a crash took it).
//
// Where the final read did not finish a partition, a send is still lost
// when a poll read a later offset of its partition and no poll read it at
// its offset (consumers read from the log start, in order); otherwise it is
// unjudged, and the partition makes the verdict unknown.
//
// Info and fail sends are never lost: they may not have happened. On a
// compacted topic, a send the log cleaner may have removed (a later record
// of its key is known, or may exist: compaction.go's superseded) is not
// judged here; compaction-lost-key judges each key's last record.
func lostWrites(ix *index, _ *Opts) finding {
	var f finding
	maxRead := map[tp]read{} // the first read of each partition's highest offset
	for _, r := range ix.reads {
		if m, ok := maxRead[r.pos.tp()]; !ok || r.pos.Offset > m.pos.Offset {
			maxRead[r.pos.tp()] = r
		}
	}
	for _, s := range ix.sendsOfType(history.OK) {
		pos := s.pos()
		if ix.superseded(s) {
			continue
		}
		if mark, ok := ix.finalCoverage(pos.tp()); ok {
			fin := ix.finals[pos.Topic]
			if ix.finalReaderReadAt(fin, s.send.Value, pos) {
				continue
			}
			if pos.Offset < mark.LogStartOffset {
				f.unknown = append(f.unknown, Unjudged{Reason: FinalReadIncomplete, Check: LostWrite,
					Detail: fmt.Sprintf("send %s (op %d) acknowledged at %s is below the final log start %d: deleted or lost, the final read cannot tell", s.send.Value, s.op, pos, mark.LogStartOffset)})
				continue
			}
			f.witnesses = append(f.witnesses, ix.lostAgainstFinal(s, fin, mark))
			continue
		}
		if ix.readAt(s.send.Value, pos) {
			continue // read where it belongs; whether it survived is unjudged
		}
		if m, ok := maxRead[pos.tp()]; ok && m.pos.Offset > pos.Offset {
			w := ix.lostWitness(s, m.op)
			w.Detail += fmt.Sprintf("; op %d read the later offset %d", m.op, m.pos.Offset)
			f.witnesses = append(f.witnesses, w)
		}
	}
	f.unknown = append(f.unknown, ix.finalReadUnknowns(LostWrite)...)
	slices.SortStableFunc(f.witnesses, func(a, b Witness) int { return comparePositions(a.Positions[0], b.Positions[0]) })
	return f
}

// lostAgainstFinal is the witness of a send the complete final read did
// not find at its position.
func (ix *index) lostAgainstFinal(s *sendRec, fin *finalRec, mark history.FinalMark) Witness {
	pos := s.pos()
	w := ix.lostWitness(s, fin.op)
	if pos.Offset >= mark.HighWatermark {
		w.Detail += fmt.Sprintf("; the final high watermark is %d (op %d)", mark.HighWatermark, fin.op)
	} else {
		w.Detail += fmt.Sprintf("; the complete final read of [%d, %d) (op %d) does not have it there", mark.LogStartOffset, mark.HighWatermark, fin.op)
	}
	if ix.readAt(s.send.Value, pos) {
		first := ix.reads[ix.firstReadAt(s.send.Value, pos)]
		w.Ops = uniqueSorted(append(w.Ops, first.op))
		w.Detail += fmt.Sprintf("; op %d had read it there at %.3fs", first.op, history.Seconds(ix.h[first.op].Time))
	}
	return w
}

// lostWitness describes what sits at s's position instead, and where s's
// value turned up, naming the op that judged it (judge).
func (ix *index) lostWitness(s *sendRec, judge int64) Witness {
	pos := s.pos()
	w := Witness{Positions: []Position{pos}, Values: []string{s.send.Value}, Ops: []int64{s.op, judge}}
	var why []string
	if others := ix.valuesAt(pos); len(others) > 0 {
		delete(others, s.send.Value)
		vals := slices.Sorted(maps.Keys(others))
		for _, v := range vals {
			w.Ops = append(w.Ops, others[v])
		}
		if len(vals) > 0 {
			w.Values = append(w.Values, vals...)
			why = append(why, fmt.Sprintf("op %d read %s there", others[vals[0]], strings.Join(vals, ", ")))
		}
	}
	for _, i := range ix.valueReads[s.vid] {
		if r := ix.reads[i]; r.pos != pos {
			w.Positions = append(w.Positions, r.pos)
			w.Ops = append(w.Ops, r.op)
			why = append(why, fmt.Sprintf("op %d read it at %s instead", r.op, r.pos))
			break
		}
	}
	if len(ix.valueReads[s.vid]) == 0 {
		why = append(why, "never read")
	}
	w.Ops = uniqueSorted(w.Ops)
	w.Detail = fmt.Sprintf("send %s (op %d) acknowledged at %s", s.send.Value, s.op, pos)
	if len(why) > 0 {
		w.Detail += ": " + strings.Join(why, "; ")
	}
	return w
}

func (ix *index) firstReadAt(value string, pos Position) int {
	for _, i := range ix.at(pos) {
		if ix.reads[i].value == value {
			return int(i)
		}
	}
	return -1
}

// finalReadUnknowns says, for checker name, which partitions the final read
// did not read completely, and why.
func (ix *index) finalReadUnknowns(name string) []Unjudged {
	var out []Unjudged
	for _, k := range ix.expectedPartitions() {
		if _, ok := ix.finalCoverage(k); ok {
			continue
		}
		acked := 0
		for _, s := range ix.sendsOfType(history.OK) {
			if s.pos().tp() == k {
				acked++
			}
		}
		out = append(out, Unjudged{Reason: FinalReadIncomplete, Check: name,
			Detail: fmt.Sprintf("%s/%d: %s; its %d acknowledged sends cannot be judged", k.topic, k.partition, ix.whyIncomplete(k), acked)})
	}
	return out
}

// whyIncomplete says why the final read does not cover k.
func (ix *index) whyIncomplete(k tp) string {
	f := ix.finals[k.topic]
	switch {
	case f == nil:
		return "no final read"
	case f.op < 0:
		return "the final read never completed"
	case f.typ == history.Fail:
		return "the final read failed (" + f.err + ")"
	}
	m, ok := f.marks[k.partition]
	if !ok {
		return "the final read did not list this partition"
	}
	return fmt.Sprintf("the final read read it to %d of its high watermark %d", m.ReadTo, m.HighWatermark)
}
