package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/weir-dev/weir/history"
)

// The linearizability model of one partition log (see linearizable.go).
//
// Values are unique, so before checking, every value known to sit in the
// log is bound to the offset it sits at: an acknowledged send to its
// acknowledged offset, a value read at an offset to that offset (an info or
// failed send that was read was applied there; a value read at two offsets
// is two appends). These are the log's known appends, in offset order. A
// send that was never acknowledged and never read may or may not have been
// applied, at an offset nobody knows: it changes nothing a read could show
// but the holes between known offsets, which the model allows, so it is
// left out: that is the "not applied" branch, and the "applied" branch is
// indistinguishable from it.
//
// The state is k, the number of known appends applied: a single integer,
// compared and hashed in O(1). The record at each offset is fixed before
// checking, so k determines the log's content; a chained hash of the values
// would add nothing.
//
//   - append i (offset o) is legal iff k == i and o is above the previous
//     known append's offset: appends take effect in offset order, the
//     moment the high watermark passes them (acks=all answers after that);
//   - a read that answered high watermark H is legal iff k == the number of
//     known appends below H: every known record below H has taken effect
//     and none at or above H has. A read that answered no high watermark
//     but returned records needs only k past its highest record;
//   - except a read a deposed leader may have answered: one served in leader
//     epoch E (history.PartitionRead.LeaderEpoch, an upper bound) when the
//     first known append at or above H was appended in a later epoch
//     (history.PartitionRead.Epochs of any read of the partition), or when
//     a read that returned before it could be answered had returned a batch
//     of a later epoch (epochTimes.newerBefore; seed 70072). Kafka
//     lets a leader cut off from the metadata quorum, not knowing it was
//     deposed, answer a client whose metadata came from it (KIP-320 fences
//     only a client that knows the newer epoch) with its own, older high
//     watermark (seed 35006: n1, cut off from the quorum's leader, went on
//     answering high watermark 40 after n3, elected in epoch 2, had
//     acknowledged offsets 40-94). Such a leader never has the later
//     epoch's appends, and appends take effect in offset order, so the
//     read needs only k >= the number of known appends below H. A read
//     whose epoch or whose next append's epoch is unknown stays exact: a
//     high watermark the leader of the append's epoch, or a later one,
//     answers below it is a regression;
//   - a read is never legal if, on its own, it contradicts the log: offsets
//     not increasing, a record at or above its own high watermark, or a
//     known offset missing between its first and last record (a fetch
//     returns a partition's records from its position on, skipping only
//     offsets that hold no record).

// linKind is what a model operation does.
type linKind int8

const (
	linAppend linKind = iota
	linRead
)

// linOp is one operation of the partition model, and porcupine's Input.
type linOp struct {
	kind   linKind
	callNs int64 // when it could have started
	retNs  int64 // when it had certainly ended (math.MaxInt64: never known)
	op     int64 // the history op (the send's completion, or the read's)
	proc   int   // the history process, for porcupine's rows

	// append
	idx    int
	offset int64
	value  string

	// epoch: an append's leader epoch, a read's (the latest it can have
	// been answered in); -1 if unknown
	epoch int32

	// read
	level int  // the k it needs
	exact bool // k == level; else k >= level
	stale bool // not exact: a deposed leader may have answered it
	bad   string
	hwm   int64
	first int64 // offsets returned, Unknown if none
	last  int64
	n     int
	final bool
}

func (o *linOp) String() string {
	if o.kind == linAppend {
		return fmt.Sprintf("append %s @%d", o.value, o.offset)
	}
	s := "read"
	if o.final {
		s = "final listing"
	}
	if o.n > 0 {
		s += fmt.Sprintf(" %d..%d(%d)", o.first, o.last, o.n)
	}
	if o.hwm != history.Unknown {
		s += " hwm " + strconv.FormatInt(o.hwm, 10)
	}
	if o.stale {
		s += fmt.Sprintf(" in epoch %d, of a deposed leader", o.epoch)
	}
	if o.bad != "" {
		s += " [" + o.bad + "]"
	}
	return s
}

// partitionLog is one partition's model operations: the known appends in
// offset order and the reads.
type partitionLog struct {
	tp      tp
	appends []*linOp // chain order: offset, then value
	reads   []*linOp
	epochs  epochStarts
	times   epochTimes // when reads showed each epoch
}

// offsetOf returns the offset of the i-th known append.
func (p *partitionLog) offsetOf(i int) int64 { return p.appends[i].offset }

// logEnd is one past the highest known append applied in state k.
func (p *partitionLog) logEnd(k int) int64 {
	if k == 0 {
		return 0
	}
	return p.appends[k-1].offset + 1
}

// step is the model's step function on state k.
func (p *partitionLog) step(k int, o *linOp) (bool, int) {
	switch o.kind {
	case linAppend:
		if k == o.idx && (o.idx == 0 || p.appends[o.idx-1].offset < o.offset) {
			return true, k + 1
		}
	case linRead:
		if o.bad == "" && (k == o.level || !o.exact && k > o.level) {
			return true, k
		}
	}
	return false, k
}

// partitionLogs builds the model operations of every partition.
func (ix *index) partitionLogs() []*partitionLog {
	logs := map[tp]*partitionLog{}
	get := func(k tp) *partitionLog {
		if logs[k] == nil {
			logs[k] = &partitionLog{tp: k}
		}
		return logs[k]
	}
	// Known appends: acknowledged sends, then every value read where it
	// was read (once per offset).
	for _, k := range ix.tpIdx {
		p, l := ix.byTP[k], get(k)
		for _, s := range p.acked {
			l.appends = append(l.appends, &linOp{kind: linAppend, epoch: -1, callNs: ix.h[s.invoke].Time, retNs: ix.h[s.op].Time,
				op: s.op, proc: ix.h[s.invoke].Process, offset: s.send.Offset, value: s.send.Value})
		}
		var here []int32 // values placed at the current offset
		for i, ri := range p.reads {
			r := ix.reads[ri]
			if i == 0 || ix.reads[p.reads[i-1]].pos.Offset != r.pos.Offset {
				here = here[:0]
			}
			if slices.Contains(here, r.vid) {
				continue
			}
			here = append(here, r.vid)
			s := ix.sendOf[r.vid]
			if s != nil && s.acked() && s.send.Offset == r.pos.Offset && s.pos().tp() == k {
				continue // the acknowledged append
			}
			a := &linOp{kind: linAppend, epoch: -1, callNs: 0, retNs: math.MaxInt64, op: r.op, proc: ix.h[r.op].Process, offset: r.pos.Offset, value: r.value}
			if s != nil {
				a.callNs, a.op, a.proc = ix.h[s.invoke].Time, s.op, ix.h[s.invoke].Process
			}
			l.appends = append(l.appends, a)
		}
	}
	epochs, times := ix.partitionEpochs(), ix.partitionEpochTimes()
	for _, l := range logs {
		l.times = times[l.tp]
		slices.SortFunc(l.appends, func(a, b *linOp) int {
			return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.value, b.value))
		})
		l.epochs = epochs[l.tp]
		for i, a := range l.appends {
			a.idx, a.epoch = i, l.epochs.at(a.offset)
		}
	}
	for _, p := range ix.parts {
		l := get(p.tp)
		if r := l.readOf(ix, p); r != nil {
			l.reads = append(l.reads, r)
		}
	}
	for _, topic := range sortedKeys(ix.finals) {
		f := ix.finals[topic]
		if f.op < 0 {
			continue
		}
		for _, m := range f.final.Marks {
			l := get(tp{topic, m.Partition})
			r := &linOp{kind: linRead, final: true, epoch: -1, callNs: ix.h[f.invoke].Time, retNs: ix.h[f.op].Time, op: f.op,
				proc: ix.h[f.op].Process, hwm: m.HighWatermark, first: history.Unknown, last: history.Unknown, exact: true}
			r.level = l.below(m.HighWatermark)
			l.reads = append(l.reads, r)
		}
	}
	out := make([]*partitionLog, 0, len(logs))
	for _, k := range sortedTPs(logs) {
		out = append(out, logs[k])
	}
	return out
}

// below is the number of known appends at offsets below o.
func (l *partitionLog) below(o int64) int {
	i, _ := slices.BinarySearchFunc(l.appends, o, func(a *linOp, o int64) int { return cmp.Compare(a.offset, o) })
	return i
}

// readOf is the model read of one partition read, or nil if it shows
// nothing (no records, no high watermark).
func (l *partitionLog) readOf(ix *index, p partRead) *linOp {
	recs := p.pr.Records
	hwm := p.pr.HighWatermark
	if len(recs) == 0 && hwm < 0 {
		return nil
	}
	r := &linOp{kind: linRead, callNs: p.callNs, retNs: p.retNs, op: p.op, proc: p.process, hwm: hwm,
		first: history.Unknown, last: history.Unknown, n: len(recs), epoch: -1}
	if p.pr.LeaderEpoch != nil {
		r.epoch = *p.pr.LeaderEpoch
	}
	if len(recs) > 0 {
		r.first, r.last = recs[0].Offset, recs[len(recs)-1].Offset
	}
	r.bad = l.contradiction(recs, hwm)
	switch {
	case hwm >= 0:
		r.level, r.exact = l.below(hwm), true
		if (r.epoch >= 0 && r.level < len(l.appends) && l.appends[r.level].epoch > r.epoch) || l.times.newerBefore(r.epoch, r.callNs) {
			r.exact, r.stale = false, true
		}
	default:
		// Past the append of its highest record.
		last := recs[len(recs)-1]
		i := l.below(last.Offset)
		for i < len(l.appends) && l.appends[i].offset == last.Offset && l.appends[i].value != last.Value {
			i++
		}
		r.level = i + 1
	}
	return r
}

// contradiction says what, if anything, makes a read impossible on any log.
func (l *partitionLog) contradiction(recs []history.Record, hwm int64) string {
	for i := 1; i < len(recs); i++ {
		if recs[i].Offset <= recs[i-1].Offset {
			return fmt.Sprintf("offset %d after %d", recs[i].Offset, recs[i-1].Offset)
		}
	}
	if n := len(recs); n > 0 && hwm >= 0 && recs[n-1].Offset >= hwm {
		return fmt.Sprintf("record at offset %d at or above its high watermark %d", recs[n-1].Offset, hwm)
	}
	if len(recs) < 2 {
		return ""
	}
	j := 0
	for i := l.below(recs[0].Offset); i < len(l.appends) && l.appends[i].offset <= recs[len(recs)-1].Offset; i++ {
		o := l.appends[i].offset
		for j < len(recs) && recs[j].Offset < o {
			j++
		}
		if j == len(recs) || recs[j].Offset != o {
			return fmt.Sprintf("offset %d missing, where %s sits", o, l.appends[i].value)
		}
	}
	return ""
}
