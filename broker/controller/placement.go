package controller

import (
	"slices"

	"github.com/weir-dev/weir/broker/metadata"
)

// Replica placement, in the manner of Kafka's StripedReplicaPlacer and the
// rack-aware assignment before it: the active brokers are ordered so that
// racks alternate (the first broker of each rack, then the second of each,
// ...), and each partition takes a stripe of that list, so leaders and
// replicas spread evenly and the replicas of one partition land on
// different racks when the racks are of equal size.
//
// Partition p's stripe starts at position
//
//	start + p*rf + p/(n/g)          (n brokers, rf replicas, g = gcd(n, rf))
//
// The stripes of n/g consecutive partitions tile the list rf/g times
// exactly, and the extra step every n/g partitions moves the leaders to
// the next residue class, so for one topic on brokers without racks both
// the leaders and the replicas per broker differ by at most one (the
// property tests check this). start is the broker that leads the fewest
// partitions, so topics created one after another spread too. With racks
// of unequal sizes a stripe may repeat a rack; the walk below then skips
// to brokers of racks not yet used, as Kafka does, at some cost in balance.

type placer struct {
	list  []*metadata.Broker // rack-alternated
	racks int
}

func newPlacer(b *batch) *placer {
	byRack := map[string][]*metadata.Broker{}
	var racks []string
	for _, br := range b.img.Brokers() {
		if cur, _ := b.broker(br.ID); !cur.Active() {
			continue
		}
		if _, ok := byRack[br.Rack]; !ok {
			racks = append(racks, br.Rack)
		}
		byRack[br.Rack] = append(byRack[br.Rack], br)
	}
	slices.Sort(racks)
	pl := &placer{racks: len(racks)}
	for i := 0; ; i++ {
		added := false
		for _, r := range racks {
			if i < len(byRack[r]) {
				pl.list = append(pl.list, byRack[r][i])
				added = true
			}
		}
		if !added {
			return pl
		}
	}
}

// start is the position of the active broker leading the fewest
// partitions (the first such in the list).
func (pl *placer) start(b *batch) int {
	leads := map[int32]int{}
	b.forEachPartition(func(_ *metadata.Topic, _ int32, p *metadata.Partition) { leads[p.Leader]++ })
	best := 0
	for i, br := range pl.list {
		if leads[br.ID] < leads[pl.list[best].ID] {
			best = i
		}
	}
	return best
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// place returns the replicas of count partitions with rf replicas each;
// the caller has checked rf <= len(pl.list).
func (pl *placer) place(start, count, rf int) [][]int32 {
	n := len(pl.list)
	block := n / gcd(n, rf)
	out := make([][]int32, count)
	for p := range count {
		pos := start + p*rf + p/block
		out[p] = pl.stripe(pos, rf)
	}
	return out
}

// stripe takes rf brokers from position pos on, preferring racks the
// partition does not use yet.
func (pl *placer) stripe(pos, rf int) []int32 {
	n := len(pl.list)
	replicas := []int32{pl.list[pos%n].ID}
	usedRacks := map[string]bool{pl.list[pos%n].Rack: true}
	for k := 1; len(replicas) < rf; k++ {
		br := pl.list[(pos+k)%n]
		if slices.Contains(replicas, br.ID) {
			continue
		}
		// Past one lap every rack has been offered: take anyone left.
		if k < n && usedRacks[br.Rack] && len(usedRacks) < pl.racks {
			continue
		}
		replicas = append(replicas, br.ID)
		usedRacks[br.Rack] = true
	}
	return replicas
}

// activeCount is the number of brokers placement may use.
func (pl *placer) activeCount() int { return len(pl.list) }
