package checker

import (
	"cmp"
	"maps"
	"slices"

	"github.com/weir-dev/weir/history"
)

// tp is a topic partition.
type tp struct {
	topic     string
	partition int32
}

func compareTP(a, b tp) int {
	return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
}

func (p Position) tp() tp { return tp{p.Topic, p.Partition} }

// read is one record one poll returned.
type read struct {
	pos   Position
	value string
	op    int64 // the poll's completion
}

// mark is a final read's high watermark for a partition.
type mark struct {
	hwm int64
	op  int64
}

// index is the history arranged for the checkers. Slices of reads are in
// history order.
type index struct {
	h          []history.Op
	sends      map[string]*history.Op // by value: the completion, or the invoke if none came
	valueReads map[string][]read
	posReads   map[Position][]read
	maxRead    map[tp]read    // the first read of each partition's highest offset read
	offsets    map[tp][]int64 // sorted distinct offsets read per partition
	final      map[tp]mark    // from ok final ops; the last one wins
	polls      int
	records    int
}

func newIndex(h []history.Op) *index {
	ix := &index{
		h:          h,
		sends:      map[string]*history.Op{},
		valueReads: map[string][]read{},
		posReads:   map[Position][]read{},
		maxRead:    map[tp]read{},
		offsets:    map[tp][]int64{},
		final:      map[tp]mark{},
	}
	open := map[int]*history.Op{}
	for i := range h {
		op := &h[i]
		if op.Type == history.Invoke {
			open[op.Process] = op
			continue
		}
		delete(open, op.Process)
		switch {
		case op.F == history.FnSend && op.Send != nil:
			ix.sends[op.Send.Value] = op
		case op.F == history.FnPoll && op.Poll != nil:
			if op.Type == history.OK {
				ix.polls++
			}
			for _, pr := range op.Poll.Reads {
				for _, r := range pr.Records {
					rd := read{Position{pr.Topic, pr.Partition, r.Offset}, r.Value, op.Index}
					ix.records++
					ix.valueReads[r.Value] = append(ix.valueReads[r.Value], rd)
					ix.posReads[rd.pos] = append(ix.posReads[rd.pos], rd)
					k := rd.pos.tp()
					if m, ok := ix.maxRead[k]; !ok || r.Offset > m.pos.Offset {
						ix.maxRead[k] = rd
					}
				}
			}
		case op.F == history.FnFinal && op.Final != nil && op.Type == history.OK:
			for _, m := range op.Final.HighWatermarks {
				ix.final[tp{op.Final.Topic, m.Partition}] = mark{m.Offset, op.Index}
			}
		}
	}
	// A send never completed is an unknown outcome, like info.
	for _, op := range open {
		if op.F == history.FnSend && op.Send != nil {
			ix.sends[op.Send.Value] = op
		}
	}
	for pos := range ix.posReads {
		ix.offsets[pos.tp()] = append(ix.offsets[pos.tp()], pos.Offset)
	}
	for k := range ix.offsets {
		slices.Sort(ix.offsets[k])
	}
	return ix
}

// sendsOfType returns the send ops of type t (Info includes never-completed
// invokes), in history order.
func (ix *index) sendsOfType(t history.Type) []*history.Op {
	var out []*history.Op
	for _, v := range slices.Sorted(maps.Keys(ix.sends)) {
		op := ix.sends[v]
		typ := op.Type
		if typ == history.Invoke {
			typ = history.Info
		}
		if typ == t {
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b *history.Op) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// readAt reports whether value was read at pos.
func (ix *index) readAt(value string, pos Position) bool {
	for _, r := range ix.posReads[pos] {
		if r.value == value {
			return true
		}
	}
	return false
}

func (ix *index) stats() Stats {
	s := Stats{
		Ops:             len(ix.h),
		Polls:           ix.polls,
		RecordsRead:     ix.records,
		ValuesRead:      len(ix.valueReads),
		FinalPartitions: len(ix.final),
	}
	s.SendsFail = len(ix.sendsOfType(history.Fail))
	s.SendsInfo = len(ix.sendsOfType(history.Info))
	for _, op := range ix.sendsOfType(history.OK) {
		s.SendsOK++
		if ix.readAt(op.Send.Value, sendPos(op.Send)) {
			s.AckedRead++
		} else if _, covered := ix.coverage(sendPos(op.Send)); !covered {
			s.Unseen++
		}
	}
	return s
}

func sendPos(s *history.Send) Position { return Position{s.Topic, s.Partition, s.Offset} }

// uniqueSorted returns the sorted distinct elements of xs.
func uniqueSorted[T cmp.Ordered](xs []T) []T {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
