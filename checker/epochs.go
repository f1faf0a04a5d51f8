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
