package checker

import (
	"cmp"
	"slices"

	"github.com/weir-dev/weir/history"
)

// epochStarts are the leader epochs of one partition's records as far as
// the reads show (history.PartitionRead.Epochs): each epoch's first offset
// any read returned, by offset.
type epochStarts []history.EpochStart

// partitionEpochs gathers every partition's epochStarts from its reads.
func (ix *index) partitionEpochs() map[tp]epochStarts {
	out := map[tp]epochStarts{}
	for _, p := range ix.parts {
		if len(p.pr.Epochs) > 0 {
			out[p.tp] = append(out[p.tp], p.pr.Epochs...)
		}
	}
	for k, es := range out {
		out[k] = es.sorted()
	}
	return out
}

// sorted orders es by offset, keeping each epoch's first.
func (es epochStarts) sorted() epochStarts {
	slices.SortFunc(es, func(a, b history.EpochStart) int {
		return cmp.Or(cmp.Compare(a.Epoch, b.Epoch), cmp.Compare(a.Offset, b.Offset))
	})
	es = slices.CompactFunc(es, func(a, b history.EpochStart) bool { return a.Epoch == b.Epoch })
	slices.SortFunc(es, func(a, b history.EpochStart) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(a.Epoch, b.Epoch))
	})
	return es
}

// at is the leader epoch the record at offset o was appended in, as far as
// the reads show: the epoch of the latest first offset at or below o, -1 if
// none. An epoch no read returned a record of is missed, so this can only
// be too early, which keeps the checks that use it strict.
func (es epochStarts) at(o int64) int32 {
	i, _ := slices.BinarySearchFunc(es, o+1, func(e history.EpochStart, o int64) int { return cmp.Compare(e.Offset, o) })
	if i == 0 {
		return -1
	}
	return es[i-1].Epoch
}

// deposed reports whether a read answered in leader epoch epoch (an upper
// bound; -1 if unknown) with high watermark hwm may have come from a
// deposed leader: the record at hwm was appended in a later epoch. Kafka
// lets a leader cut off from the metadata quorum, not knowing it was
// deposed, answer a client whose metadata came from it (KIP-320 fences
// only a client that knows the newer epoch) with its own, older high
// watermark (seed 35006). Such a leader never has the later epoch's
// records.
func (es epochStarts) deposed(epoch int32, hwm int64) bool {
	return epoch >= 0 && hwm >= 0 && es.at(hwm) > epoch
}

// epochTimes says, for one partition, by when the reads had shown each
// leader epoch to exist: the return time of a read and the highest leader
// epoch of any batch a read returned by then, by time, each entry's epoch
// above the one before.
type epochTimes []epochTime

type epochTime struct {
	retNs int64
	epoch int32
}

// partitionEpochTimes gathers every partition's epochTimes from its reads.
func (ix *index) partitionEpochTimes() map[tp]epochTimes {
	seen := map[tp][]epochTime{}
	for _, p := range ix.parts {
		for _, e := range p.pr.Epochs {
			seen[p.tp] = append(seen[p.tp], epochTime{p.retNs, e.Epoch})
		}
	}
	out := make(map[tp]epochTimes, len(seen))
	for k, ts := range seen {
		slices.SortFunc(ts, func(a, b epochTime) int { return cmp.Or(cmp.Compare(a.retNs, b.retNs), cmp.Compare(b.epoch, a.epoch)) })
		var et epochTimes
		for _, t := range ts {
			if len(et) == 0 || t.epoch > et[len(et)-1].epoch {
				et = append(et, t)
			}
		}
		out[k] = et
	}
	return out
}

// newerBefore reports whether a read that returned before t had returned
// a batch of a leader epoch newer than epoch (-1: unknown, never). A
// newer epoch's leader had been elected by then, so a leader still
// answering in epoch after t was deposed: a broker cut off from the
// metadata quorum answers a client whose metadata came from it from its
// own log, whose high watermark may lag behind records of its own epoch
// that the new leader committed (seed 70072: n3, cut off from the other
// brokers since 27.26 s and deposed at 30.43 s, answered high watermark
// 135 in epoch 0 at 37.09 s, after another client had read to 138 and a
// marker of epoch 1; offsets 135-136 were of epoch 0, so the record at
// the high watermark did not give it away).
func (et epochTimes) newerBefore(epoch int32, t int64) bool {
	if epoch < 0 {
		return false
	}
	i, _ := slices.BinarySearchFunc(et, epoch+1, func(e epochTime, epoch int32) int { return cmp.Compare(e.epoch, epoch) })
	return i < len(et) && et[i].retNs < t
}
