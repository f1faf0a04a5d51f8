package checker

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"

	"github.com/weir-dev/weir/history"
)

// watermarkRegressions finds a high watermark or log start offset that goes
// backwards. A broker's high watermark only grows (a record below it is
// committed and stays), and so does its log start. Every partition read and
// every final mark is an observation of both, made somewhere in a known
// interval of time, and a read of offset o shows the high watermark was
// above o. An observation must not be lower than
//   - an earlier one of the same consumer client (its fetches of a
//     partition are sequential);
//   - one that ended before it could have been made, whatever the client
//     (real time: the final read included), unless a deposed leader may
//     have answered it: its leader epoch is older than that of the record
//     at its high watermark (epochStarts.deposed; not judged by real
//     time), or than one a read had returned a batch of before
//     (epochTimes.newerBefore; judged only against observations of its
//     own epoch or an older one). A client's own fetches never go back to
//     an older epoch, so the first rule holds for them all;
//
// and kgo's data-loss error (the log no longer reached what the client had
// consumed) is a regression by itself, except on a topic where kgo can
// walk past batches that return it nothing (a compacted topic, or one that
// transactions wrote to) when the client had returned nothing in the range
// it says was lost (dataLosses).
//
// With several brokers a new leader can briefly answer a lower high
// watermark; configurations with leader changes must allow this anomaly
// until replication lands and says otherwise.
func watermarkRegressions(ix *index, _ *Opts) finding {
	obs := ix.observations()
	var f finding
	seen := map[[2]int64]bool{}
	add := func(a, b *observation, what string, was, now int64) {
		if seen[[2]int64{a.op, b.op}] {
			return
		}
		seen[[2]int64{a.op, b.op}] = true
		f.witnesses = append(f.witnesses, Witness{
			Positions: []Position{b.tp.at(now)},
			Ops:       uniqueSorted([]int64{a.op, b.op}),
			Detail: fmt.Sprintf("op %d saw %s/%d %s %d (answered between %.3fs and %.3fs), but op %d %s (by %.3fs)",
				b.op, b.tp.topic, b.tp.partition, what, now, history.Seconds(b.callNs), history.Seconds(b.retNs), a.op, a.showed(what, was), history.Seconds(a.retNs)),
		})
	}
	// One client's successive observations.
	type key struct {
		session, process int
		tp               tp
	}
	lastFloor, lastLSO := map[key]*observation{}, map[key]*observation{}
	for i := range obs {
		b := &obs[i]
		if b.final {
			continue
		}
		k := key{b.session, b.process, b.tp}
		if a := lastFloor[k]; a != nil && b.hwm >= 0 && b.hwm < a.floor {
			add(a, b, "high watermark", a.floor, b.hwm)
		}
		if a := lastLSO[k]; a != nil && b.lso >= 0 && b.lso < a.lso {
			add(a, b, "log start", a.lso, b.lso)
		}
		if a := lastFloor[k]; a == nil || b.floor > a.floor {
			lastFloor[k] = b
		}
		if a := lastLSO[k]; b.lso >= 0 && (a == nil || b.lso > a.lso) {
			lastLSO[k] = b
		}
	}
	// Real time, per partition.
	byTP := map[tp][]*observation{}
	for i := range obs {
		byTP[obs[i].tp] = append(byTP[obs[i].tp], &obs[i])
	}
	epochs, times := ix.partitionEpochs(), ix.partitionEpochTimes()
	for _, k := range sortedTPs(byTP) {
		realTimeRegressions(byTP[k], epochs[k], times[k], add)
	}
	f.witnesses = append(f.witnesses, ix.dataLosses()...)
	slices.SortStableFunc(f.witnesses, func(a, b Witness) int { return cmp.Compare(a.Ops[len(a.Ops)-1], b.Ops[len(b.Ops)-1]) })
	return f
}

// observation is what one partition read or final mark showed of a
// partition's watermarks, and when it could have been made.
type observation struct {
	tp            tp
	callNs, retNs int64
	hwm, lso      int64 // as answered; Unknown if not
	epoch         int32 // the leader epoch it was answered in, at most; -1 if unknown
	floor         int64 // the high watermark was at least this: max(hwm, highest offset read + 1)
	op            int64
	session       int
	process       int
	final         bool
}

func (o *observation) showed(what string, v int64) string {
	if what == "high watermark" && v != o.hwm {
		return fmt.Sprintf("had read offset %d", v-1)
	}
	return fmt.Sprintf("had seen %d", v)
}

func (ix *index) observations() []observation {
	var out []observation
	for _, p := range ix.parts {
		o := observation{tp: p.tp, callNs: p.callNs, retNs: p.retNs, hwm: p.pr.HighWatermark, lso: p.pr.LogStartOffset,
			epoch: -1, op: p.op, session: p.session, process: p.process}
		if p.pr.LeaderEpoch != nil {
			o.epoch = *p.pr.LeaderEpoch
		}
		o.floor = max(o.hwm, p.maxOffset+1)
		if o.floor > 0 || o.hwm >= 0 {
			out = append(out, o)
		}
	}
	for _, topic := range sortedKeys(ix.finals) {
		f := ix.finals[topic]
		if f.op < 0 {
			continue
		}
		for _, m := range f.final.Marks {
			out = append(out, observation{tp: tp{topic, m.Partition}, callNs: ix.h[f.invoke].Time, retNs: ix.h[f.op].Time,
				hwm: m.HighWatermark, lso: m.LogStartOffset, floor: m.HighWatermark, epoch: -1, op: f.op, process: ix.h[f.op].Process, final: true})
		}
	}
	return out
}

// realTimeRegressions checks, for one partition (its record epochs es,
// and when reads showed each epoch, et), that no observation is lower than
// one that ended before it could have been made, except a high watermark a
// deposed leader may have answered. One whose leader epoch is older than
// the record at it (epochStarts.deposed) is not judged by real time; one
// whose epoch is older than a batch a read had returned before it could be
// answered (epochTimes.newerBefore) is held only to what observations of
// its own leader epoch or older showed: one leader answers in an epoch,
// and its high watermark never goes back, but a newer epoch's leader has
// records and commits it never saw.
func realTimeRegressions(obs []*observation, es epochStarts, et epochTimes, add func(a, b *observation, what string, was, now int64)) {
	byCall := slices.Clone(obs)
	slices.SortStableFunc(byCall, func(a, b *observation) int { return cmp.Compare(a.callNs, b.callNs) })
	pending := &byRet{}
	var maxFloor, maxLSO *observation
	floorByEpoch := map[int32]*observation{} // the highest floor ended, per known epoch
	for _, b := range byCall {
		for pending.Len() > 0 && (*pending)[0].retNs < b.callNs {
			a := heap.Pop(pending).(*observation)
			if maxFloor == nil || a.floor > maxFloor.floor {
				maxFloor = a
			}
			if f := floorByEpoch[a.epoch]; a.epoch >= 0 && (f == nil || a.floor > f.floor) {
				floorByEpoch[a.epoch] = a
			}
			if a.lso >= 0 && (maxLSO == nil || a.lso > maxLSO.lso) {
				maxLSO = a
			}
		}
		bound := maxFloor
		switch {
		case es.deposed(b.epoch, b.hwm):
			bound = nil // it never had the record at its high watermark
		case et.newerBefore(b.epoch, b.callNs):
			bound = floorUpTo(floorByEpoch, b.epoch)
		}
		if bound != nil && b.hwm >= 0 && b.hwm < bound.floor {
			add(bound, b, "high watermark", bound.floor, b.hwm)
		}
		if maxLSO != nil && b.lso >= 0 && b.lso < maxLSO.lso {
			add(maxLSO, b, "log start", maxLSO.lso, b.lso)
		}
		heap.Push(pending, b)
	}
}

// floorUpTo is the observation of the highest floor among those of leader
// epochs up to epoch; nil if none.
func floorUpTo(floorByEpoch map[int32]*observation, epoch int32) *observation {
	var best *observation
	for e, o := range floorByEpoch {
		if e <= epoch && (best == nil || o.floor > best.floor || o.floor == best.floor && o.op < best.op) {
			best = o
		}
	}
	return best
}

// dataLosses turns kgo's data-loss errors into witnesses.
//
// On a topic where kgo can walk past batches that return it nothing
// (silentBatches) a report is a witness only when the client had returned
// a record in the range it says was lost, [ResetTo, ConsumedTo)
// (sessionRead). kgo's KIP-320 position pairs the offset after the last
// batch it read with the leader epoch of the last record it returned
// (kgo v1.22.2, source.go: lastConsumedEpoch from the last record of
// FetchPartition.Records), or, before any, the epoch its ListOffsets
// answered. It walks past a batch that
// returns nothing without taking that batch's epoch: a batch the cleaner
// emptied (an empty batch keeps its offsets, KAFKA-5443; seed 20107), an
// aborted transaction's batch under read_committed (dropped even with
// control records kept; seed 21021), a marker when control records are
// not kept. The Java consumer takes the epoch of every batch
// (CompletedFetch.nextFetchedRecord sets lastEpoch before it skips an
// aborted or control batch). When such a batch is of a later leader epoch
// than the position's, the check after the next leader change asks where
// the older epoch ends, the leader rightly answers the first offset of the
// next one, below the position, and kgo reports a loss of offsets at which
// it returned nothing. Nothing it returned is gone: the batch's epoch
// still reaches past it.
//
// A real loss there is still judged by the other checks: a record the
// client (or any client) read there and gone is an inconsistent offset or
// a lost write, an acknowledged one lost is a lost-write, and a high
// watermark any read answered above them and later answered below is a
// regression (the observations above; a fetch that returned nothing is
// not in the history, so it shows no high watermark). Only offsets that
// held nothing any client returned can go unnoticed: aborted records,
// markers, emptied batches. On other topics kgo returns a record at every
// offset it walks past, and its report stays a witness by itself.
func (ix *index) dataLosses() []Witness {
	var out []Witness
	for _, p := range ix.parts {
		d := p.pr.DataLoss
		if d == nil {
			continue
		}
		if ix.silentBatches(p.tp.topic) && !ix.sessionRead(p.session, p.tp, p.op, d.ResetTo, d.ConsumedTo) {
			continue
		}
		out = append(out, Witness{
			Positions: []Position{p.tp.at(d.ConsumedTo), p.tp.at(d.ResetTo)},
			Ops:       []int64{p.op},
			Detail: fmt.Sprintf("op %d: the client had consumed %s/%d to offset %d when the log no longer reached it (data loss; reset to %d)",
				p.op, p.tp.topic, p.tp.partition, d.ConsumedTo, d.ResetTo),
		})
	}
	return out
}

// silentBatches reports whether a consumer's kgo can walk past batches of
// topic that return it nothing: the topic is compacted (batches the
// cleaner emptied), or transactions wrote to it (aborted batches, dropped
// under read_committed, and transaction markers, dropped unless control
// records are kept).
func (ix *index) silentBatches(topic string) bool {
	return ix.isCompacted(topic) || ix.txnTopics[topic]
}

// sessionRead reports whether consumer session returned a record of tp at
// an offset in [from, to) in a read completed by op (op's own included).
func (ix *index) sessionRead(session int, k tp, op, from, to int64) bool {
	for _, p := range ix.parts {
		if p.session != session || p.tp != k || p.op > op {
			continue
		}
		for i := p.firstRead; i < p.firstRead+len(p.pr.Records); i++ {
			if o := ix.reads[i].pos.Offset; o >= from && o < to {
				return true
			}
		}
	}
	return false
}

// byRet is a min-heap of observations by when they ended.
type byRet []*observation

func (h byRet) Len() int           { return len(h) }
func (h byRet) Less(i, j int) bool { return h[i].retNs < h[j].retNs }
func (h byRet) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byRet) Push(x any)        { *h = append(*h, x.(*observation)) }
func (h *byRet) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
