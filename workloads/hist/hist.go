// Package hist is what the workloads' checkers read a history through:
// the final read of a topic as a log per partition, and, for every value,
// the operation that sent it. It reads only the history (package
// history), never a client or a cluster, so a checker built on it judges a
// run folder from anywhere.
//
// Invariants: nothing here changes the history it is given; every result
// is walked in a fixed order (partitions ascending, offsets ascending,
// history order), so the checkers' witnesses are deterministic.
package hist

import (
	"cmp"
	"slices"

	"github.com/weir-dev/weir/history"
)

// Entry is one record of a final read.
type Entry struct {
	Offset int64
	Key    string
	Value  string
	Op     int64 // the poll that read it
}

// Log is what the final read of one topic found.
type Log struct {
	Topic string
	// Op is the final op's completion (its invoke if it never completed),
	// -1 when the history has no final read of the topic.
	Op         int64
	Partitions int32 // the partitions the topic was created with
	// Records per partition, in offset order, each offset once.
	Records map[int32][]Entry
	// Complete says which partitions the final read read to their end.
	Complete map[int32]bool
}

// AllComplete reports whether every partition the topic was created with
// was read to its end.
func (l *Log) AllComplete() bool {
	if l.Op < 0 {
		return false
	}
	for p := range l.Partitions {
		if !l.Complete[p] {
			return false
		}
	}
	return true
}

// Find returns the entry at offset o of partition p.
func (l *Log) Find(p int32, o int64) (Entry, bool) {
	rs := l.Records[p]
	i, ok := slices.BinarySearchFunc(rs, o, func(e Entry, o int64) int { return cmp.Compare(e.Offset, o) })
	if !ok {
		return Entry{}, false
	}
	return rs[i], true
}

// FinalLog returns the final read of topic in h: the records its reader
// polled between the final op's invoke and completion.
func FinalLog(h []history.Op, topic string) *Log {
	l := &Log{Topic: topic, Op: -1, Records: map[int32][]Entry{}, Complete: map[int32]bool{}}
	inv := -1
	for i := range h {
		op := &h[i]
		if op.F != history.FnFinal || op.Final == nil || op.Final.Topic != topic {
			continue
		}
		if op.Type == history.Invoke {
			inv, l.Op, l.Partitions = i, int64(i), op.Final.Partitions
			continue
		}
		if inv >= 0 && op.Process == h[inv].Process {
			l.Op = int64(i)
			for _, m := range op.Final.Marks {
				l.Complete[m.Partition] = m.Complete
			}
		}
	}
	if inv < 0 {
		return l
	}
	reader := h[inv].Final.Reader
	end := len(h)
	if l.Op > int64(inv) {
		end = int(l.Op)
	}
	seen := map[int32]map[int64]bool{}
	for i := inv + 1; i < end; i++ {
		op := &h[i]
		if op.Process != reader || op.Poll == nil || op.Type == history.Invoke {
			continue
		}
		for _, pr := range op.Poll.Reads {
			if pr.Topic != topic {
				continue
			}
			if seen[pr.Partition] == nil {
				seen[pr.Partition] = map[int64]bool{}
			}
			for _, r := range pr.Records {
				if !seen[pr.Partition][r.Offset] {
					seen[pr.Partition][r.Offset] = true
					l.Records[pr.Partition] = append(l.Records[pr.Partition], Entry{Offset: r.Offset, Key: r.Key, Value: r.Value, Op: op.Index})
				}
			}
		}
	}
	for p := range l.Records {
		slices.SortFunc(l.Records[p], func(a, b Entry) int { return cmp.Compare(a.Offset, b.Offset) })
	}
	return l
}

// Sent is one send of a value: a send op, or a send inside a txn op.
type Sent struct {
	Send    *history.Send // as the completion carries it (the invoke's if none)
	Type    history.Type  // OK, Fail or Info (never completed: Info)
	Invoke  int64
	Op      int64 // the completion, or the invoke if none came
	Process int
	// Txn is the txn the send was part of, nil for a send op.
	Txn *history.Txn
}

// Acked reports whether the send was acknowledged with a position: a send
// op or a non-transactional txn that ended ok, or a committed transaction.
func (s *Sent) Acked() bool { return s.Type == history.OK && s.Send.Acked() }

// Sends returns every send in h by value (values are unique in a run).
func Sends(h []history.Op) map[string]*Sent {
	out := map[string]*Sent{}
	open := map[int]int64{}
	add := func(op *history.Op, inv int64, typ history.Type) {
		for _, s := range op.Sends() {
			out[s.Value] = &Sent{Send: s, Type: typ, Invoke: inv, Op: op.Index, Process: op.Process, Txn: op.Txn}
		}
	}
	for i := range h {
		op := &h[i]
		if op.Type == history.Invoke {
			open[op.Process] = int64(i)
			continue
		}
		inv, ok := open[op.Process]
		if !ok {
			continue
		}
		delete(open, op.Process)
		add(op, inv, op.Type)
	}
	var never []int64
	for _, inv := range open {
		never = append(never, inv)
	}
	slices.Sort(never)
	for _, inv := range never {
		add(&h[inv], inv, history.Info)
	}
	return out
}

// Seconds is the time of op i in seconds since the run's start.
func Seconds(h []history.Op, i int64) float64 {
	if i < 0 || i >= int64(len(h)) {
		return 0
	}
	return history.Seconds(h[i].Time)
}
